//! One scenario suite, run unchanged over every transport: each scenario is a
//! generic function of two connected `MessageConnection`s, and each transport
//! only says how to make such a pair.

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use switchyard::frame::{Error, ErrorClass, MessageConnection};
use switchyard::rt;

/// The maximum message for every transport here: fits one loopback datagram.
const MAX: usize = 60_000;

trait Pair {
    type A: MessageConnection + Unpin + Send + 'static;
    type B: MessageConnection + Unpin + Send + 'static;
    /// Two connected ends, and whatever must live as long as they do.
    async fn pair() -> (Self::A, Self::B, Keep);
}

/// Kept alive for the length of a test (a UDP listener behind its sessions).
type Keep = Option<Box<dyn std::any::Any + Send>>;

mod transports {
    use super::*;
    use switchyard::frame::{Framed, LengthPrefixed};
    use switchyard::tcp::{TcpListener, TcpStream};
    use switchyard::udp::{SessionConfig, UdpConnection, UdpListener, UdpSession, UdpSocket};

    pub struct TcpLengthPrefixed;
    impl Pair for TcpLengthPrefixed {
        type A = Framed<TcpStream, LengthPrefixed>;
        type B = Framed<TcpStream, LengthPrefixed>;
        async fn pair() -> (Self::A, Self::B, Keep) {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (client, accepted) = futures::join!(
                switchyard::tcp::connect(addr, Duration::from_secs(5)),
                listener.accept()
            );
            let framing = LengthPrefixed::new(MAX);
            (
                Framed::new(client.unwrap(), framing),
                Framed::new(accepted.unwrap().0, framing),
                None,
            )
        }
    }

    pub struct UdpConnected;
    impl Pair for UdpConnected {
        type A = UdpConnection;
        type B = UdpConnection;
        async fn pair() -> (Self::A, Self::B, Keep) {
            let a = UdpSocket::bind("127.0.0.1:0")
                .await
                .unwrap()
                .with_max_datagram(MAX);
            let b = UdpSocket::bind("127.0.0.1:0")
                .await
                .unwrap()
                .with_max_datagram(MAX);
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            let a = a.connect(b_addr).await.unwrap();
            (a, b.connect(a_addr).await.unwrap(), None)
        }
    }

    /// A WebSocket client and the server's side of its connection, as
    /// binary message connections.
    pub struct WebSocket;
    impl Pair for WebSocket {
        type A = switchyard::ws::FixedKind<switchyard::ws::ClientIo>;
        type B = switchyard::ws::FixedKind<switchyard::ws::ServerIo>;
        async fn pair() -> (Self::A, Self::B, Keep) {
            use switchyard::http::{HttpServer, HttpServerConfig};
            use switchyard::ws::{connect_with, websocket, ClientConfig, Router, WsServerConfig};
            let (tx, rx) = async_channel::bounded(1);
            let router = Router::new().upgrade(
                "/ws",
                websocket(
                    WsServerConfig::default().max_message(MAX),
                    move |conn, _| {
                        let tx = tx.clone();
                        async move {
                            let _ = tx.send(conn).await;
                        }
                    },
                ),
            );
            let config = HttpServerConfig::default();
            let server = HttpServer::bind("127.0.0.1:0", config, router)
                .await
                .unwrap();
            let url = format!("ws://{}/ws", server.local_addr().unwrap());
            rt::spawn(server.serve());
            let client = connect_with(&url, &ClientConfig::default().max_message(MAX))
                .await
                .unwrap();
            (client.binary(), rx.recv().await.unwrap().binary(), None)
        }
    }

    /// A client socket and the server's per-peer session for it.
    pub struct UdpServerSession;
    impl Pair for UdpServerSession {
        type A = UdpConnection;
        type B = UdpSession;
        async fn pair() -> (Self::A, Self::B, Keep) {
            let config = SessionConfig::default().max_datagram(MAX);
            let listener = UdpListener::bind("127.0.0.1:0", config).await.unwrap();
            let client = UdpSocket::bind("127.0.0.1:0")
                .await
                .unwrap()
                .with_max_datagram(MAX);
            let mut client = client
                .connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            client.send(Bytes::from_static(b"open")).await.unwrap();
            let mut session = listener.accept().await.unwrap();
            assert_eq!(&session.next().await.unwrap().unwrap()[..], b"open");
            // Dropping the listener would end its sessions.
            (client, session, Some(Box::new(listener)))
        }
    }
}

/// Receives one message within a few seconds.
async fn recv<S: futures::Stream<Item = Result<Bytes, Error>> + Unpin>(conn: &mut S) -> Bytes {
    rt::timeout(Duration::from_secs(5), "receive", conn.next())
        .await
        .expect("a message in time")
        .expect("the stream goes on")
        .expect("a message, not an error")
}

async fn empty_message<A: MessageConnection + Unpin, B: MessageConnection + Unpin>(
    mut a: A,
    mut b: B,
) {
    a.send(Bytes::new()).await.unwrap();
    a.send(Bytes::from_static(b"after empty")).await.unwrap();
    assert_eq!(recv(&mut b).await, Bytes::new());
    assert_eq!(recv(&mut b).await, Bytes::from_static(b"after empty"));
}

async fn small_both_ways<A: MessageConnection + Unpin, B: MessageConnection + Unpin>(
    mut a: A,
    mut b: B,
) {
    a.send(Bytes::from_static(b"ping")).await.unwrap();
    assert_eq!(recv(&mut b).await, Bytes::from_static(b"ping"));
    b.send(Bytes::from_static(b"pong")).await.unwrap();
    assert_eq!(recv(&mut a).await, Bytes::from_static(b"pong"));
}

async fn exactly_the_maximum<A: MessageConnection + Unpin, B: MessageConnection + Unpin>(
    mut a: A,
    mut b: B,
) {
    let big: Bytes = (0..MAX).map(|i| (i % 251) as u8).collect();
    a.send(big.clone()).await.unwrap();
    assert_eq!(recv(&mut b).await, big);
}

async fn one_over_the_maximum_is_refused<
    A: MessageConnection + Unpin,
    B: MessageConnection + Unpin,
>(
    mut a: A,
    mut b: B,
) {
    let err = a.send(vec![0u8; MAX + 1].into()).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLargeToSend { size, max } if size == MAX as u64 + 1 && max == MAX),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::Refused);
    // Nothing was sent, and the connection still works.
    a.send(Bytes::from_static(b"next")).await.unwrap();
    assert_eq!(recv(&mut b).await, Bytes::from_static(b"next"));
}

/// Sends `count` numbered messages from one task while another receives
/// them, with at most `WINDOW` in flight (UDP drops what overflows).
async fn many_in_order<A, B>(a: A, mut b: B)
where
    A: MessageConnection + Unpin + Send + 'static,
    B: MessageConnection + Unpin + Send + 'static,
{
    const COUNT: u32 = 1000;
    const WINDOW: usize = 32;
    let (credit_tx, credit_rx) = async_channel::bounded::<()>(WINDOW);
    for _ in 0..WINDOW {
        credit_tx.try_send(()).unwrap();
    }
    let sender = rt::spawn(async move {
        let mut a = a;
        for i in 0..COUNT {
            credit_rx.recv().await.unwrap();
            a.send(Bytes::copy_from_slice(&i.to_be_bytes()))
                .await
                .unwrap();
        }
        a
    });
    for i in 0..COUNT {
        let msg = recv(&mut b).await;
        assert_eq!(msg[..], i.to_be_bytes()[..], "message {i} out of order");
        let _ = credit_tx.try_send(());
    }
    sender.await;
}

/// Several tasks send on one shared connection while another task reads
/// the echoes: every message comes back, each task's in its order.
async fn concurrent_send_and_receive<A, B>(a: A, b: B)
where
    A: MessageConnection + Unpin + Send + 'static,
    B: MessageConnection + Unpin + Send + 'static,
{
    const TASKS: u8 = 4;
    const EACH: u32 = 100;
    const WINDOW: usize = 32;
    let echo = rt::spawn(async move {
        let mut b = b;
        while let Some(Ok(msg)) = b.next().await {
            if b.send(msg).await.is_err() {
                break;
            }
        }
    });
    let (mut reader, sender, writer) = switchyard::frame::share(a, 16);
    rt::spawn(writer);
    let (credit_tx, credit_rx) = async_channel::bounded::<()>(WINDOW);
    for _ in 0..WINDOW {
        credit_tx.try_send(()).unwrap();
    }
    let senders: Vec<_> = (0..TASKS)
        .map(|task| {
            let sender = sender.clone();
            let credits = credit_rx.clone();
            rt::spawn(async move {
                for i in 0..EACH {
                    credits.recv().await.unwrap();
                    let mut msg = vec![task];
                    msg.extend_from_slice(&i.to_be_bytes());
                    sender.send(msg.into()).await.unwrap();
                }
            })
        })
        .collect();
    let receiver = rt::spawn(async move {
        let mut next = [0u32; TASKS as usize];
        for _ in 0..TASKS as u32 * EACH {
            let msg = recv(&mut reader).await;
            let task = msg[0] as usize;
            let i = u32::from_be_bytes([msg[1], msg[2], msg[3], msg[4]]);
            assert_eq!(i, next[task], "task {task}'s messages out of order");
            next[task] += 1;
            let _ = credit_tx.try_send(());
        }
        next
    });
    for s in senders {
        s.await;
    }
    assert_eq!(receiver.await, [EACH; TASKS as usize]);
    sender.close();
    sender.close();
    assert!(matches!(
        sender.send(Bytes::new()).await,
        Err(Error::Closed)
    ));
    drop(echo);
}

/// serde values, in JSON one way and bincode the other, over the same pair.
async fn typed_values<A, B>(a: A, b: B)
where
    A: MessageConnection + Unpin,
    B: MessageConnection + Unpin,
{
    use switchyard::frame::{Bincode, Json, Typed};

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reading {
        sensor: String,
        values: Vec<f64>,
    }
    let reading = Reading {
        sensor: "north".into(),
        values: vec![1.5, -2.0],
    };

    let mut a_json: Typed<_, u64, Reading, _> = Typed::new(a, Json);
    let mut b_json: Typed<_, Reading, u64, _> = Typed::new(b, Json);
    a_json.send(reading.clone()).await.unwrap();
    assert_eq!(b_json.next().await.unwrap().unwrap(), reading);
    b_json.send(7).await.unwrap();
    assert_eq!(a_json.next().await.unwrap().unwrap(), 7);

    let mut a_bin: Typed<_, Reading, Reading, _> = Typed::new(a_json.into_inner(), Bincode::new());
    let mut b_raw = b_json.into_inner();
    b_raw
        .send(Bytes::from_static(b"\xfe not bincode"))
        .await
        .unwrap();
    let err = a_bin.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                format: "bincode",
                ..
            }
        ),
        "{err}"
    );
    let mut b_bin: Typed<_, Reading, Reading, _> = Typed::new(b_raw, Bincode::new());
    b_bin.send(reading.clone()).await.unwrap();
    assert_eq!(
        a_bin.next().await.unwrap().unwrap(),
        reading,
        "a bad message does not end the stream"
    );
}

macro_rules! scenarios {
    ($($transport:ident: $pair:ty;)*) => {$(
        mod $transport {
            use super::*;

            #[test]
            fn empty_message() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::empty_message(a, b).await;
            })
}

            #[test]
            fn small_both_ways() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::small_both_ways(a, b).await;
            })
}

            #[test]
            fn exactly_the_maximum() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::exactly_the_maximum(a, b).await;
            })
}

            #[test]
            fn one_over_the_maximum_is_refused() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::one_over_the_maximum_is_refused(a, b).await;
            })
}

            #[test]
            fn many_in_order() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::many_in_order(a, b).await;
            })
}

            #[test]
            fn typed_values() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::typed_values(a, b).await;
            })
}

            #[test]
            fn concurrent_send_and_receive() {
    switchyard_rt::block_on(async {
                let (a, b, _keep) = <$pair>::pair().await;
                super::concurrent_send_and_receive(a, b).await;
            })
}
        }
    )*};
}

scenarios! {
    tcp_length_prefixed: transports::TcpLengthPrefixed;
    udp_connected: transports::UdpConnected;
    udp_server_session: transports::UdpServerSession;
    websocket: transports::WebSocket;
}

/// Stream transports only: messages far larger than a datagram.
#[test]
fn tcp_carries_an_eight_mebibyte_message() {
    switchyard_rt::block_on(async {
        use switchyard::frame::{Framed, LengthPrefixed};
        let (a, b, _) = transports::TcpLengthPrefixed::pair().await;
        let framing = LengthPrefixed::new(8 << 20);
        let mut a = Framed::new(a.into_inner(), framing);
        let mut b = Framed::new(b.into_inner(), framing);
        let big: Bytes = (0..8u32 << 20).map(|i| (i % 253) as u8).collect();
        let (sent, got) = futures::join!(a.send(big.clone()), recv(&mut b));
        sent.unwrap();
        assert!(got == big, "8 MiB message changed in transit");
    })
}

/// Stream transports only: a peer that closes in the middle of a frame is
/// a clear error, not a hang and not a cut message. (A datagram cannot be
/// cut by its sender: UDP's counterpart is the truncation test in
/// `switchyard-udp`.)
mod peer_closes_mid_frame {
    use super::*;
    use futures::io::AsyncWriteExt;

    #[test]
    fn tcp_length_prefixed() {
        switchyard_rt::block_on(async {
            let (a, mut b, _) = transports::TcpLengthPrefixed::pair().await;
            let mut raw = a.into_inner();
            raw.write_all(b"\x00\x00\x00\x10only seven").await.unwrap();
            raw.shutdown(std::net::Shutdown::Both).unwrap();
            let got = rt::timeout(Duration::from_secs(5), "receive", b.next())
                .await
                .unwrap();
            assert!(
                matches!(got, Some(Err(Error::UnexpectedEof { buffered: 14 }))),
                "{got:?}"
            );
            assert!(b.next().await.is_none(), "the stream ends after the error");
        })
    }

    #[test]
    fn tcp_announcing_more_than_the_maximum() {
        switchyard_rt::block_on(async {
            let (a, mut b, _) = transports::TcpLengthPrefixed::pair().await;
            let mut raw = a.into_inner();
            raw.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
            let got = rt::timeout(Duration::from_secs(5), "receive", b.next())
                .await
                .unwrap();
            assert!(
                matches!(
                    got,
                    Some(Err(Error::FrameTooLarge {
                        size: 0xffff_ffff,
                        max: MAX
                    }))
                ),
                "{got:?}"
            );
            assert!(b.next().await.is_none());
        })
    }
}
