//! A TCP echo server with no framing layer at all: `futures::io::copy` per
//! connection, on switchyard-rt's sockets (whichever runtime runs). The baseline `bench/compare.sh` measures switchyard's
//! framed echo against (scenario 5, the cost of framing).
//!
//! ```text
//! cargo run --release -p switchyard-load --example plain_echo -- 127.0.0.1:7010
//! ```

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7010".into());
    switchyard_rt::block_on(async {
        let listener = switchyard_rt::net::TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(_) => {
                    switchyard_rt::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            switchyard_rt::spawn(async move {
                let (mut reader, mut writer) = (stream.clone(), stream);
                let _ = futures::io::copy(&mut reader, &mut writer).await;
            });
        }
    })
}
