//! The process that owns an entry, and whether it still runs: a pid and
//! its start time, on a machine and a boot of it.

use serde::{Deserialize, Serialize};

/// The process that owns a token: a pid is only known on its own machine
/// and boot, so both are recorded with it (a state folder may be shared
/// by machines, as a home folder on NFS is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    /// The process's start time (Linux: clock ticks after boot), so that
    /// another process given the same pid is not taken for the owner.
    #[serde(default)]
    pub start: Option<u64>,
    /// The machine's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The machine's boot (Linux: `/proc/sys/kernel/random/boot_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
}

/// This machine's host name, once.
pub fn this_machine() -> Option<&'static str> {
    static MACHINE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
            (!name.is_empty()).then_some(name)
        })
        .as_deref()
}

/// This boot of the machine, once (Linux only).
fn this_boot() -> Option<&'static str> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = id.trim();
        (!id.is_empty() && id.len() <= 64).then(|| id.to_owned())
    })
    .as_deref()
}

impl Owner {
    /// This process.
    pub fn this_process() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid),
            machine: this_machine().map(str::to_owned),
            boot: this_boot().map(str::to_owned),
        }
    }

    /// Whether this owner may still run: a process of another machine is
    /// taken to (this one cannot tell; its entry waits for its token's
    /// expiry or a reap there); one of an earlier boot of this machine has
    /// ended; else its pid is live and, where the start time is known,
    /// was started when the owner was.
    pub fn alive(&self) -> bool {
        if let (Some(machine), Some(here)) = (self.machine.as_deref(), this_machine())
            && machine != here
        {
            return true;
        }
        if let (Some(boot), Some(now)) = (self.boot.as_deref(), this_boot())
            && boot != now
        {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        match (self.start, start_time(self.pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            (Some(_), None) if cfg!(target_os = "linux") => false,
            _ => {
                // No start time to compare: the pid alone.
                use nix::errno::Errno;
                match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
                    Ok(()) | Err(Errno::EPERM) => true,
                    Err(_) => false,
                }
            }
        }
    }
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`, read
/// after the last `)` since the command name may hold spaces and
/// parentheses); `None` where there is no `/proc`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // A zombie has ended; only its parent has not collected its status:
    // it owns nothing any more.
    if fields.next()? == "Z" {
        return None;
    }
    // After the name come field 3 (state) onwards: field 22 is the 20th.
    fields.nth(18)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_told_apart_from_a_process_that_reuses_its_pid() {
        let me = Owner::this_process();
        assert!(me.alive());
        if cfg!(target_os = "linux") {
            assert!(me.start.is_some());
            let reused = Owner {
                start: me.start.map(|s| s + 1),
                ..me.clone()
            };
            assert!(!reused.alive());
            // This pid, at an earlier boot of this machine: gone.
            let rebooted = Owner {
                boot: Some("an-earlier-boot".to_owned()),
                ..me.clone()
            };
            assert!(me.boot.is_some());
            assert!(!rebooted.alive());
        }
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = Owner {
            pid: child.id(),
            start: start_time(child.id()),
            ..me.clone()
        };
        child.wait().unwrap();
        assert!(!gone.alive());
        // Of another machine: not this one's to judge, so taken as alive.
        let elsewhere = Owner {
            machine: Some(format!("{}-elsewhere", me.machine.clone().unwrap())),
            ..gone.clone()
        };
        assert!(elsewhere.alive());
        assert!(
            !Owner {
                pid: 0,
                start: None,
                ..me
            }
            .alive()
        );
    }
}
