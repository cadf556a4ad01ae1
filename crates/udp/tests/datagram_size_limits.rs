//! A datagram over the maximum is refused on send and reported on receive,
//! never cut; the socket goes on working after either.

use futures::{SinkExt, StreamExt};
use switchyard_udp::{Error, UdpSocket};

#[test]
fn an_oversize_datagram_is_reported_not_cut_and_the_next_one_arrives() {
    switchyard_rt::block_on(async {
        let small = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .with_max_datagram(1000);
        let big = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = small.local_addr().unwrap();

        big.send_to(&[7; 1001], to).await.unwrap();
        big.send_to(&[8; 1000], to).await.unwrap();

        let err = small.recv_from().await.unwrap_err();
        assert!(
            matches!(err, Error::DatagramTruncated { max: 1000 }),
            "{err}"
        );
        assert_eq!(err.class(), switchyard_udp::ErrorClass::Dropped);
        let (msg, _) = small.recv_from().await.unwrap();
        assert_eq!(&msg[..], &[8; 1000][..]);
    })
}

#[test]
fn a_connection_refuses_to_send_more_than_its_maximum_and_stays_usable() {
    switchyard_rt::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .with_max_datagram(100);
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let mut a = a.connect(b_addr).await.unwrap();
        let mut b = b.connect(a_addr).await.unwrap();

        let err = a.send(vec![0; 101].into()).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLargeToSend {
                    size: 101,
                    max: 100
                }
            ),
            "{err}"
        );
        a.send(vec![1; 100].into()).await.unwrap();
        let got = b.next().await.unwrap().unwrap();
        assert_eq!(got.len(), 100);
    })
}

#[test]
fn the_maximum_is_capped_at_what_ipv4_can_carry() {
    switchyard_rt::block_on(async {
        let s = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap()
            .with_max_datagram(1 << 20);
        assert_eq!(s.max_datagram(), switchyard_udp::MAX_PAYLOAD);
        let err = s
            .send_to(&vec![0; 65508], s.local_addr().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            Error::TooLargeToSend {
                size: 65508,
                max: 65507
            }
        ));
    })
}
