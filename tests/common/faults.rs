//! Faults a test owns, for the commit engine's fault tests: an nft wrapper that fails,
//! stalls or fills a disk on cue; a private mount namespace in which the state directory
//! can be a tiny tmpfs or a read-only bind mount; and an LD_PRELOAD shim that steps the
//! wall clock of the processes it is given to (never this machine's own clock).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::Lab;

/// An `nft` wrapper script in its own directory. Each fault is switched on by a flag file
/// the test creates and off by removing it, so one command can meet the fault and the next
/// not.
pub struct NftWrapper {
    pub dir: tempfile::TempDir,
}

impl NftWrapper {
    /// `--stall` loads (`nft -f`, not `nft -c -f`) sleep `stall` seconds while the file
    /// `stall` exists (the wrapper touches `stalling` when it starts such a sleep); loads fail
    /// while `fail` exists; while `fill` names a file, a load first fills that file's disk.
    pub fn new(stall: Duration) -> NftWrapper {
        let dir = tempfile::tempdir().expect("wrapper dir");
        let d = dir.path().display().to_string();
        let script = format!(
            r#"#!/bin/sh
# A test's nft: real nft, with faults switched on by flag files in {d}.
check=no
for a in "$@"; do [ "$a" = "-c" ] && check=yes; done
load=no
for a in "$@"; do [ "$a" = "-f" ] && load=yes; done
if [ $load = yes ] && [ $check = no ]; then
    if [ -e {d}/fail ]; then echo 'simulated nft failure' >&2; exit 1; fi
    if [ -e {d}/fill ]; then dd if=/dev/zero of="$(cat {d}/fill)" bs=4096 2>/dev/null; fi
    if [ -e {d}/stall ]; then touch {d}/stalling; sleep {secs}; fi
fi
exec nft "$@"
"#,
            secs = stall.as_secs_f64()
        );
        let path = dir.path().join("nft");
        std::fs::write(&path, script).expect("write wrapper");
        chmod_x(&path);
        NftWrapper { dir }
    }

    pub fn path(&self) -> String {
        self.dir.path().join("nft").display().to_string()
    }

    fn flag(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn set(&self, name: &str, on: bool) {
        if on {
            std::fs::write(self.flag(name), "").expect("flag");
        } else {
            let _ = std::fs::remove_file(self.flag(name));
        }
    }

    /// The next loads fill the disk that holds `file` first.
    pub fn fill_on_load(&self, file: &Path) {
        std::fs::write(self.flag("fill"), file.display().to_string()).expect("flag");
    }

    /// Waits until a stalled load has started.
    pub fn wait_stalling(&self, limit: Duration) {
        let start = Instant::now();
        while !self.flag("stalling").exists() {
            assert!(start.elapsed() < limit, "no load stalled within {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

pub fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A private mount namespace, held open by a sleeping process; commands run in it (and in
/// the lab's server network namespace) with nsenter, so a guard started there stays there.
pub struct MountNs {
    holder: Child,
}

impl MountNs {
    pub fn new() -> MountNs {
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare a mount namespace");
        let ns = MountNs { holder };
        // The namespace exists once the holder runs sleep in it.
        let start = Instant::now();
        while std::fs::read_link(format!("/proc/{}/ns/mnt", ns.pid()))
            .ok()
            .zip(std::fs::read_link("/proc/self/ns/mnt").ok())
            .is_none_or(|(theirs, ours)| theirs == ours)
        {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no mount namespace"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        ns
    }

    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// Runs a command in the mount namespace; panics if it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = Command::new("nsenter")
            .args([
                "-t",
                &self.pid().to_string(),
                "-m",
                "--",
                "sh",
                "-c",
                script,
            ])
            .output()
            .expect("nsenter");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Mounts a tmpfs of `kib` KiB at `dir`, mode 0700.
    pub fn tmpfs(&self, dir: &Path, kib: u32) {
        self.sh(&format!(
            "mount -t tmpfs -o size={kib}k,mode=0700 pc-test {}",
            dir.display()
        ));
    }

    /// Makes `dir` read-only from now on: a read-only bind mount stacked on it.
    pub fn make_read_only(&self, dir: &Path) {
        let d = dir.display();
        self.sh(&format!(
            "mount --bind {d} {d} && mount -o remount,bind,ro {d}"
        ));
    }

    /// Takes the topmost mount off `dir` (the read-only bind mount, say). Lazily: a guard
    /// may have a file open through it at that moment.
    pub fn unmount(&self, dir: &Path) {
        self.sh(&format!("umount -l {}", dir.display()));
    }

    /// Free bytes on the filesystem holding `dir`, as seen in this namespace.
    pub fn free_bytes(&self, dir: &Path) -> u64 {
        let out = self.sh(&format!("stat -f -c '%a %S' {}", dir.display()));
        let mut words = out
            .split_whitespace()
            .map(|w| w.parse::<u64>().expect("number"));
        words.next().expect("blocks") * words.next().expect("block size")
    }

    /// Fills the filesystem holding `dir` until `leave` bytes are free (`filler` grows).
    pub fn fill(&self, dir: &Path, filler: &str, leave: u64) {
        let free = self.free_bytes(dir);
        if free > leave {
            let pages = (free - leave) / 4096;
            self.sh(&format!(
                "dd if=/dev/zero of={}/{filler} bs=4096 count={pages} oflag=append conv=notrunc 2>/dev/null",
                dir.display()
            ));
        }
    }

    /// portcullis in this mount namespace and the lab's server network namespace.
    pub fn portcullis_command(&self, lab: &Lab, args: &[&str]) -> Command {
        self.portcullis_in(&lab.server, lab.state_dir.path(), args)
    }

    /// portcullis in this mount namespace and network namespace `netns`, with `state`.
    pub fn portcullis_in(&self, netns: &str, state: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args([
            "-t",
            &self.pid().to_string(),
            "-m",
            &format!("--net=/var/run/netns/{netns}"),
            "--",
            env!("CARGO_BIN_EXE_portcullis"),
        ])
        .args(args)
        .env("PORTCULLIS_STATE_DIR", state)
        .env("PORTCULLIS_SYSLOG_SOCKET", "")
        .env_remove("SSH_CONNECTION")
        .env_remove("PORTCULLIS_POLICY");
        cmd
    }

    pub fn portcullis(&self, lab: &Lab, args: &[&str]) -> Output {
        self.portcullis_command(lab, args)
            .output()
            .expect("run portcullis")
    }
}

impl Drop for MountNs {
    fn drop(&mut self) {
        // The namespace (and every mount in it) goes with its last process. Guards started
        // in it are the test's to end; the holder is ours.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// An LD_PRELOAD library that adds the number of seconds in a file to CLOCK_REALTIME (and
/// gettimeofday, time) of the processes it is loaded into: a stepped wall clock for
/// portcullis alone. CLOCK_BOOTTIME and CLOCK_MONOTONIC are left as they are.
pub struct ClockShift {
    dir: tempfile::TempDir,
}

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long shift(void) {
    const char *path = getenv("PORTCULLIS_TEST_CLOCK_SHIFT");
    long long s = 0;
    FILE *f;
    if (!path || !(f = fopen(path, "r"))) return 0;
    if (fscanf(f, "%lld", &s) != 1) s = 0;
    fclose(f);
    return s;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift();
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    static int (*real)(struct timeval *, void *);
    if (!real) real = dlsym(RTLD_NEXT, "gettimeofday");
    int r = real(tv, tz);
    if (r == 0 && tv) tv->tv_sec += shift();
    return r;
}

time_t time(time_t *t) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
"#;

impl ClockShift {
    /// Builds the shim with the machine's C compiler.
    pub fn new() -> ClockShift {
        let dir = tempfile::tempdir().expect("shim dir");
        let source = dir.path().join("shift.c");
        std::fs::write(&source, SHIM).expect("write shim");
        let out = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(dir.path().join("shift.so"))
            .arg(&source)
            .arg("-ldl")
            .output()
            .expect("run cc (the clock shim needs a C compiler)");
        assert!(
            out.status.success(),
            "cc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shift = ClockShift { dir };
        shift.set(0);
        shift
    }

    /// Steps the shifted clock to `seconds` ahead of the real one (negative: behind).
    pub fn set(&self, seconds: i64) {
        let tmp = self.dir.path().join("shift.tmp");
        std::fs::write(&tmp, seconds.to_string()).expect("write shift");
        std::fs::rename(&tmp, self.dir.path().join("shift")).expect("rename shift");
    }

    /// Gives a command the shifted clock.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("LD_PRELOAD", self.dir.path().join("shift.so"))
            .env("PORTCULLIS_TEST_CLOCK_SHIFT", self.dir.path().join("shift"))
    }
}

/// The pid written in a guard's liveness lock file.
pub fn guard_pid(lab: &Lab, id: &str) -> i32 {
    let path = lab.state_dir.path().join(format!("guards/{id}.lock"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .parse()
        .expect("a guard pid")
}

/// Polls `f` every 20 ms until it is true; false if `limit` passes first.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
