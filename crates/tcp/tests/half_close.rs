//! Closing a framed TCP connection's sink shuts down its write half: the
//! peer reads the end of the stream, and can still answer.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_tcp::{connect_framed, LengthPrefixed, Server, ServerConfig};

#[test]
fn closing_the_sink_sends_end_of_stream_and_replies_still_arrive() {
    switchyard_rt::block_on(async {
        let server = Server::bind("127.0.0.1:0", ServerConfig::default())
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        // Counts messages until the end of the stream, then answers with the count.
        switchyard_rt::spawn(server.serve(|conn| async move {
            let mut conn = conn.framed(LengthPrefixed::default());
            let mut count = 0u32;
            while let Some(Ok(_)) = conn.next().await {
                count += 1;
            }
            let _ = conn.send(count.to_string().into()).await;
        }));

        let conn = connect_framed(addr, LengthPrefixed::default(), Duration::from_secs(5))
            .await
            .unwrap();
        let (mut sink, mut stream) = conn.split();
        for _ in 0..3 {
            sink.send("m".into()).await.unwrap();
        }
        sink.close().await.unwrap();
        let reply = switchyard_rt::timeout(Duration::from_secs(5), "reply", stream.next())
            .await
            .expect("the server saw the end of the stream and answered");
        assert_eq!(reply.unwrap().unwrap(), "3");
    })
}
