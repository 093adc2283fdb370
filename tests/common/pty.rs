//! A real pseudo-terminal for end-to-end tests: the program runs with the pty as its
//! controlling terminal (its own session), and the test reads what it printed and types.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The pty's size: rows, columns. 120 columns puts the two panes side by side.
pub const SIZE: (u16, u16) = (30, 120);

pub struct Pty {
    pub child: Box<dyn Child + Send + Sync>,
    /// Held so the terminal stays open (dropping the master hangs it up).
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    output: Arc<Mutex<Vec<u8>>>,
    /// Tells the reader thread to let go of its copy of the master.
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    /// Starts `program args` in a new pty of 120×30, with `env` added to ours.
    pub fn spawn(program: &str, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: SIZE.0,
                cols: SIZE.1,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        for k in unset {
            cmd.env_remove(k);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn in pty");
        drop(pair.slave);
        // The reader polls its own copy of the master, so that `hang_up` can make it let go:
        // the terminal hangs up only once every copy of the master is closed.
        let raw = pair.master.as_raw_fd().expect("a unix pty");
        let fd = nix::unistd::dup(borrow_master(raw)).expect("dup the master");
        let mut reader = std::fs::File::from(fd);
        let writer = pair.master.take_writer().expect("pty writer");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stopped.load(Ordering::SeqCst) {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(50u8)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink
                        .lock()
                        .expect("output lock")
                        .extend_from_slice(&buf[..n]),
                }
            }
        });
        Pty {
            child,
            master: Some(pair.master),
            writer: Some(writer),
            output,
            stop,
            reader: Some(reader),
        }
    }

    /// Everything printed so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output lock")).into_owned()
    }

    /// Waits until the output contains `needle`; panics with the output after `timeout`.
    pub fn expect(&self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.text().contains(needle) {
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {needle:?}; the terminal shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn type_text(&mut self, text: &str) {
        let writer = self.writer.as_mut().expect("the terminal is open");
        writer.write_all(text.as_bytes()).expect("type");
        writer.flush().expect("flush");
    }

    /// Closes the terminal, as a dropped SSH connection does: the program gets SIGHUP.
    pub fn hang_up(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.writer = None;
        self.master = None;
    }

    pub fn pid(&self) -> i32 {
        self.child.process_id().expect("child pid") as i32
    }

    /// Waits for the program to exit and returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.exit_code();
            }
            assert!(
                start.elapsed() < timeout,
                "the program did not exit within {timeout:?}; it shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Pty {
    /// The screen as a terminal (vt100) shows it now, given everything printed so far.
    pub fn screen(&self) -> vt100::Parser {
        let (rows, cols) = SIZE;
        let nonzero = |n: u16| std::num::NonZeroU16::new(n).expect("a size");
        let mut parser = vt100::Parser::new(nonzero(rows), nonzero(cols), 0);
        parser.process(&self.output.lock().expect("output lock"));
        parser
    }

    /// Waits until the screen shows `text`.
    pub fn wait_text(&self, what: &str, timeout: Duration, text: &str) {
        self.wait_screen(what, timeout, |s| s.contents().contains(text).then_some(()));
    }

    /// Waits until the screen satisfies `check`, which returns Some(value) when it does.
    pub fn wait_screen<T>(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&vt100::Screen) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let parser = self.screen();
            if let Some(v) = check(parser.screen()) {
                return v;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}; the screen shows:\n{}",
                parser.screen().contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The master's descriptor, borrowed for the `dup` right after.
fn borrow_master(raw: RawFd) -> BorrowedFd<'static> {
    // SAFETY: portable-pty owns `raw` and keeps it open for as long as the `Pty` holds
    // the master; it is only borrowed for the `dup` that immediately follows. No safe API
    // hands out a second descriptor of the master that we could close on our own.
    unsafe { BorrowedFd::borrow_raw(raw) }
}
