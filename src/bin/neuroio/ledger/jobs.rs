//! The private folders of jobs (`exec --rotate`'s token file), in the
//! state folder, one folder a machine, each named after its owner so that
//! a reap on that machine removes what a killed job left.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use super::owner::here;
use super::{Ledger, Owner, check_private_folder, shown};
use crate::failure::Failure;

/// The folder, in the state folder, of the jobs' private folders.
const JOBS_FOLDER: &str = "exec";

/// The most job folders one reap looks at.
const MAX_JOB_FOLDERS_SWEPT: usize = 1_000;

impl Ledger {
    /// The folder of the job folders of this machine and pid namespace:
    /// `exec/HOST-HASH` in the state folder, HASH a digest of the host
    /// name, the machine id and the pid namespace (a state folder may be
    /// shared by machines or containers, and a pid means something only
    /// where it runs; the host name alone repeats, and is cleaned for a
    /// file name).
    fn jobs(&self) -> PathBuf {
        let here = here();
        let host = here.machine.as_deref().unwrap_or("unknown-machine");
        let name: String = host
            .chars()
            .take(48)
            .map(|c| match c {
                'A'..='Z' | 'a'..='z' | '0'..='9' | '-' => c,
                _ => '_',
            })
            .collect();
        // FNV-1a: stable across builds and versions, unlike std's hasher.
        let place = format!(
            "{host}\n{}\n{}",
            here.machine_id.as_deref().unwrap_or_default(),
            here.pid_ns.unwrap_or_default()
        );
        let digest = place.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        self.dir
            .join(JOBS_FOLDER)
            .join(format!("{name}-{:08x}", digest >> 32))
    }

    /// A new folder only this user can enter (0700) for a job of this
    /// process, in `exec/HOST-HASH/` of the state folder: named after its owner
    /// (`PID-START-RANDOM`), so that a reap on this machine removes it once
    /// the owner is gone, as after a `kill -9`.
    pub fn job_folder(&self) -> Result<PathBuf, Failure> {
        let jobs = self.jobs();
        let cannot = |e: std::io::Error| {
            Failure::failed(format!(
                "cannot create a private folder in {}: {e}",
                shown(&jobs)
            ))
        };
        for folder in [self.dir.join(JOBS_FOLDER), jobs.clone()] {
            match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(cannot(e)),
                _ => check_private_folder(&folder)?,
            }
        }
        let owner = Owner::this_process();
        for _ in 0..16 {
            let name = format!(
                "{}-{}-{:016x}",
                owner.pid,
                owner.start.unwrap_or(0),
                fastrand::u64(..)
            );
            let folder = jobs.join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
                Ok(()) => return Ok(folder),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(cannot(e)),
            }
        }
        Err(cannot(std::io::Error::other("every name tried was taken")))
    }

    /// Removes this machine's job folders whose owner is gone (at most
    /// [`MAX_JOB_FOLDERS_SWEPT`] looked at): what a killed `exec --rotate`
    /// left, a token file whose token `reap` deletes.
    pub(super) fn sweep_job_folders(&self) {
        let Ok(folders) = std::fs::read_dir(self.jobs()) else {
            return;
        };
        for folder in folders.take(MAX_JOB_FOLDERS_SWEPT).flatten() {
            let name = folder.file_name();
            let mut parts = name.to_str().unwrap_or_default().split('-');
            let (Some(pid), Some(start)) = (
                parts.next().and_then(|p| p.parse::<u32>().ok()),
                parts.next().and_then(|s| s.parse::<u64>().ok()),
            ) else {
                continue;
            };
            let owner = Owner {
                pid,
                start: (start != 0).then_some(start),
                ..Owner::this_process()
            };
            let is_folder = folder.file_type().is_ok_and(|t| t.is_dir());
            if is_folder && !owner.alive() {
                let _ = std::fs::remove_dir_all(folder.path());
            }
        }
    }
}
