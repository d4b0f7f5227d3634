//! Credentials: what a client sends its calls with (a fixed token, or a
//! working token minted and renewed with a parent).

pub(crate) mod profile;
pub(crate) mod renewing;
