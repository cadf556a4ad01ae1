//! What the runtime programs share: one pass through every call of
//! switchyard-rt, and the process's thread names.

#![allow(dead_code)] // each program uses its part

use std::time::{Duration, Instant};

use futures::future::poll_fn;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use switchyard_rt::net::{Address, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use switchyard_rt::{Deadline, Runtime, Timer};

/// Fails if a thread's name starts with one of `foreign` (the 15 bytes
/// Linux keeps of a name: "switchyard-toki" for switchyard's own tokio).
pub fn assert_no_thread_of(program: &str, foreign: &[&str]) {
    let names = thread_names();
    for foreign in foreign {
        assert!(
            !names.iter().any(|name| name.starts_with(foreign)),
            "a thread of {foreign:?} in {program}: {names:?}"
        );
    }
}

/// The names of this process's threads (as Linux keeps them).
pub fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

/// Goes through every call of switchyard-rt (tasks, blocking work, timers,
/// a name resolved, TCP, UDP, Unix sockets, a thread of its own) and checks
/// that each ran on `expected`.
pub async fn use_everything(expected: Runtime) {
    assert_eq!(Runtime::current(), expected);

    // Tasks, blocking work, timers.
    assert_eq!(switchyard_rt::spawn(async { 6 * 7 }).await, 42);
    let blocking =
        switchyard_rt::spawn_blocking(|| std::thread::current().name().map(String::from));
    assert!(
        blocking.await.is_some(),
        "blocking work runs on a named pool thread"
    );
    let start = Instant::now();
    switchyard_rt::sleep(Duration::from_millis(20)).await;
    assert!(start.elapsed() >= Duration::from_millis(20));
    let slow = switchyard_rt::sleep(Duration::from_secs(60));
    assert!(
        switchyard_rt::timeout(Duration::from_millis(10), "nap", slow)
            .await
            .is_err()
    );
    let ticks: Vec<Instant> = Timer::interval(Duration::from_millis(5))
        .take(3)
        .collect()
        .await;
    assert_eq!(ticks.len(), 3);
    let mut deadline = Deadline::new();
    let at = Instant::now() + Duration::from_millis(10);
    poll_fn(|cx| deadline.poll_at(cx, at)).await;
    assert!(Instant::now() >= at);
    let stopped = switchyard_rt::spawn(switchyard_rt::sleep(Duration::from_secs(60)));
    assert_eq!(stopped.cancel().await, None);

    // A name resolved on the blocking pool.
    let resolved = Address::from(("localhost", 80))
        .resolve()
        .await
        .expect("resolve localhost");
    assert!(resolved.iter().all(|a| a.ip().is_loopback()));

    // TCP, both ways, with a read that waits for data sent later.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let reader = switchyard_rt::spawn(async move {
        let mut got = vec![0u8; 10];
        server.read_exact(&mut got).await.map(|_| got)
    });
    client.write_all(b"hello").await.unwrap();
    switchyard_rt::sleep(Duration::from_millis(10)).await;
    client.write_all(b"world").await.unwrap();
    assert_eq!(reader.await.unwrap(), b"helloworld");

    // UDP.
    let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = b.local_addr().unwrap();
    poll_fn(|cx| a.poll_send_to(cx, b"datagram", to))
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"datagram"[..], a.local_addr().unwrap())
    );

    // Unix sockets, a listener's and a pair.
    let dir = std::env::temp_dir().join(format!("switchyard-rt-{expected}-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let unix = UnixListener::bind(&dir).unwrap();
    let mut dialed = UnixStream::connect(&dir).await.unwrap();
    let (mut accepted, _) = unix.accept().await.unwrap();
    dialed.write_all(b"unix").await.unwrap();
    let mut got = [0u8; 4];
    accepted.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"unix");
    let _ = std::fs::remove_file(&dir);

    // A thread of its own, with a socket and a timer there.
    let thread = switchyard_rt::spawn_thread("own-thread", async move {
        assert_eq!(Runtime::current(), expected);
        let (mut x, mut y) = UnixStream::pair().unwrap();
        x.write_all(b"own").await.unwrap();
        switchyard_rt::sleep(Duration::from_millis(5)).await;
        let mut got = [0u8; 3];
        y.read_exact(&mut got).await.unwrap();
        got
    })
    .unwrap();
    assert_eq!(&thread.join().unwrap(), b"own");
}
