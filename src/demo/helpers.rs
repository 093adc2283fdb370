//! The demo's stand-in processes, started by `portcullis demo` as hidden subcommands inside
//! its namespaces: servers that listen under a name of their own (so the sockets pane shows
//! `demo-sshd`, not `portcullis`), and a client that sends a little traffic from allowed and
//! unallowed addresses so the counters move. Each dies with its parent (PR_SET_PDEATHSIG),
//! so nothing outlives the demo even if it is killed.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use nix::sys::signal::Signal;
use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};

use super::{ADDRESSES, SERVER};

/// Dies with the parent; names the process; returns false if the parent is already gone.
fn become_child(name: &str) -> bool {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if let Ok(c) = std::ffi::CString::new(name) {
        let _ = nix::sys::prctl::set_name(&c);
    }
    nix::unistd::getppid().as_raw() != 1
}

/// `demo-serve --name N --tcp ADDR` or `--udp ADDR`: listen and answer until killed.
/// TCP connections are held open for a while, so the pane counts them.
pub fn serve(name: &str, tcp: Option<SocketAddr>, udp: Option<SocketAddr>) -> u8 {
    if !become_child(name) {
        return 1;
    }
    if let Some(addr) = udp {
        let Ok(socket) = UdpSocket::bind(addr) else {
            return 1;
        };
        let mut buf = [0u8; 2048];
        while socket.recv_from(&mut buf).is_ok() {}
        return 0;
    }
    let Some(addr) = tcp else { return 2 };
    let listener = match bind_tcp(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("portcullis demo: {name} cannot listen on {addr}: {e}");
            return 1;
        }
    };
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || hold(stream));
    }
    0
}

/// `[::]` listens dual-stack (IPV6_V6ONLY off), as most servers do.
fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SockProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(64)?;
    Ok(socket.into())
}

fn hold(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = stream.write_all(b"portcullis demo\r\n");
    let mut buf = [0u8; 512];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// `demo-traffic`: from the client namespace, a few connections a second to the server:
/// some from addresses the policy allows, some from one it does not.
pub fn traffic() -> u8 {
    if !become_child("demo-traffic") {
        return 1;
    }
    let server: IpAddr = SERVER.parse().expect("constant address");
    let (admin, soc, agents, netdevices, outsider) = (
        ADDRESSES[0],
        ADDRESSES[1],
        ADDRESSES[2],
        ADDRESSES[3],
        ADDRESSES[4],
    );
    let mut held: Vec<Socket> = Vec::new();
    for round in 0u64.. {
        // An administrator's SSH session stays open; a few come and go.
        if let Some(s) = connect(admin, server, 22) {
            held.push(s);
            if held.len() > 2 {
                held.remove(0);
            }
        }
        for _ in 0..1 + round % 3 {
            drop(connect(soc, server, 443));
        }
        for _ in 0..3 {
            send_udp(agents, server, 514);
        }
        if round % 2 == 0 {
            send_udp(netdevices, server, 2055);
        }
        // Refused by the policy: counted by the input chain's drop counter.
        if round % 3 == 0 {
            drop(connect(outsider, server, 22));
            drop(connect(outsider, server, 8080));
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    0
}

fn connect(source: &str, server: IpAddr, port: u16) -> Option<Socket> {
    let source: IpAddr = source.parse().ok()?;
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(server, port)),
        Type::STREAM,
        None,
    )
    .ok()?;
    socket
        .bind(&SockAddr::from(SocketAddr::new(source, 0)))
        .ok()?;
    socket
        .connect_timeout(
            &SocketAddr::new(server, port).into(),
            Duration::from_millis(250),
        )
        .ok()?;
    Some(socket)
}

fn send_udp(source: &str, server: IpAddr, port: u16) {
    if let Ok(socket) = UdpSocket::bind((source, 0)) {
        let _ = socket.send_to(b"<134>portcullis demo: hello", (server, port));
    }
}
