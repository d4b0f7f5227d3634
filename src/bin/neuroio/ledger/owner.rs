//! The process that owns an entry, and whether it still runs: a pid and
//! its start time, on a machine and a boot of it.

use serde::{Deserialize, Serialize};

/// The process that owns a token. A pid means something only in its own
/// pid namespace, on its own machine, in its own boot of it, so these are
/// recorded with it: a state folder may be shared by machines (a home
/// folder on NFS) or by containers (a volume).
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
    /// The machine's id (`/etc/machine-id`): host names repeat (clones,
    /// containers given one name), machine ids less often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The machine's boot (Linux: `/proc/sys/kernel/random/boot_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<String>,
    /// The pid namespace (Linux: the inode of `/proc/self/ns/pid`):
    /// containers on one machine share its boot, not their pids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<u64>,
}

/// Where this process runs, read once.
#[derive(Debug)]
pub struct Here {
    pub machine: Option<String>,
    pub machine_id: Option<String>,
    pub boot: Option<String>,
    pub pid_ns: Option<u64>,
}

/// A short identifier read from a file (trimmed, at most 64 bytes).
fn read_id(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    (!id.is_empty() && id.len() <= 64).then(|| id.to_owned())
}

/// Where this process runs.
pub fn here() -> &'static Here {
    static HERE: std::sync::OnceLock<Here> = std::sync::OnceLock::new();
    HERE.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        Here {
            machine: nix::unistd::gethostname()
                .ok()
                .and_then(|name| name.into_string().ok())
                .filter(|name| !name.is_empty()),
            machine_id: read_id("/etc/machine-id").or_else(|| read_id("/var/lib/dbus/machine-id")),
            boot: read_id("/proc/sys/kernel/random/boot_id"),
            pid_ns: std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino()),
        }
    })
}

/// Whether two recorded facts are both known and differ.
fn differ<T: PartialEq>(recorded: &Option<T>, now: &Option<T>) -> bool {
    matches!((recorded, now), (Some(a), Some(b)) if a != b)
}

impl Owner {
    /// This process.
    pub fn this_process() -> Owner {
        let pid = std::process::id();
        let here = here();
        Owner {
            pid,
            start: start_time(pid),
            machine: here.machine.clone(),
            machine_id: here.machine_id.clone(),
            boot: here.boot.clone(),
            pid_ns: here.pid_ns,
        }
    }

    /// Whether this owner may still run. A process of another machine, or
    /// of another pid namespace (a container), is taken to: this process
    /// cannot tell, and its entry waits for its token's expiry or a reap
    /// where it ran. One of an earlier boot of this very machine (the same
    /// machine id) has ended. Else its pid is live and, where the start
    /// time is known, was started when the owner was.
    pub fn alive(&self) -> bool {
        let here = here();
        if differ(&self.machine, &here.machine) || differ(&self.machine_id, &here.machine_id) {
            return true;
        }
        if differ(&self.boot, &here.boot) {
            // Another boot of this machine only if its id says so.
            let same_machine = self.machine_id.is_some() && self.machine_id == here.machine_id;
            return !same_machine;
        }
        if differ(&self.pid_ns, &here.pid_ns) {
            return true;
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

    /// An owner like `me` whose process has ended: a child that ran.
    fn gone_owner(me: &Owner) -> Owner {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = Owner {
            pid: child.id(),
            start: start_time(child.id()),
            ..me.clone()
        };
        child.wait().unwrap();
        gone
    }

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
        }
        let gone = gone_owner(&me);
        assert!(!gone.alive());
        assert!(
            !Owner {
                pid: 0,
                start: None,
                ..me.clone()
            }
            .alive()
        );
    }

    #[test]
    fn an_owner_elsewhere_is_kept_and_one_of_an_earlier_boot_of_this_machine_is_gone() {
        let me = Owner::this_process();
        let gone = gone_owner(&me);
        let other =
            |what: &Option<String>| Some(format!("{}-other", what.clone().unwrap_or_default()));
        // Another machine (by name or by id), or another pid namespace:
        // not this process's to judge, so taken to run.
        for elsewhere in [
            Owner {
                machine: other(&me.machine),
                ..gone.clone()
            },
            Owner {
                machine_id: other(&me.machine_id),
                ..gone.clone()
            },
            Owner {
                pid_ns: Some(me.pid_ns.unwrap_or_default() + 1),
                ..gone.clone()
            },
        ] {
            assert!(elsewhere.alive(), "{elsewhere:?}");
        }
        // Another boot: of this machine (its id says so), the owner is gone,
        // though its pid runs now; with no machine id to say so, it is kept.
        let rebooted = Owner {
            boot: Some("an-earlier-boot".to_owned()),
            ..me.clone()
        };
        if cfg!(target_os = "linux") && me.machine_id.is_some() {
            assert!(!rebooted.alive());
        }
        let unsure = Owner {
            machine_id: None,
            ..rebooted
        };
        assert!(unsure.alive());
    }
}
