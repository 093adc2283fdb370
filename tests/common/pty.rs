//! A real pseudo-terminal for end-to-end tests: the program runs with the pty as its
//! controlling terminal (its own session), and the test reads what it printed and types.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The pty's size: rows, columns. 120 columns puts the two panes side by side.
pub const SIZE: (u16, u16) = (30, 120);

pub struct Pty {
    pub child: Box<dyn Child + Send + Sync>,
    /// Held so the terminal stays open (dropping the master hangs it up).
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
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
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("output lock")
                    .extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            _master: pair.master,
            writer,
            output,
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
        self.writer.write_all(text.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
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
