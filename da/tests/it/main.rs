//! babel-da integration tests: the Celestia backend against `babel da serve`'s server over
//! real HTTP JSON-RPC, and the raw wire format a celestia-node client sees.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod decoder;
mod golden;
mod wire;

use babel_da::{
    Blob, DaError, DataAvailability, Namespace, celestia::CelestiaDa, local::LocalDa,
    server::DaServer,
};

const TOKEN: &str = "secret-token";

async fn server() -> (DaServer, LocalDa) {
    let da = LocalDa::in_memory().unwrap();
    let server = babel_da::server::serve(
        da.clone(),
        "127.0.0.1:0".parse().unwrap(),
        Some(TOKEN.into()),
    )
    .await
    .unwrap();
    (server, da)
}

fn blob(ns: &[u8], data: &[u8]) -> Blob {
    Blob::new(Namespace::new_v0(ns).unwrap(), data.to_vec(), None).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_celestia_client_submits_reads_and_checks_inclusion_over_http() {
    let (server, local) = server().await;
    let url = format!("http://{}", server.addr);
    let da = CelestiaDa::new(&url, Some(TOKEN)).await.unwrap();
    assert_eq!(da.head().await.unwrap(), 1);
    let (a, b) = (blob(b"rollup-a", b"batch a"), blob(b"rollup-b", b"batch b"));
    let height = da.submit(vec![a.clone(), b.clone()]).await.unwrap();
    assert_eq!(height, 2);
    assert_eq!(da.head().await.unwrap(), 2);
    // Requested-namespace order, data intact, index set as celestia-node sets it.
    let all = da.get_all(2, &[b.namespace, a.namespace]).await.unwrap();
    assert_eq!(
        all.iter().map(|x| x.data.clone()).collect::<Vec<_>>(),
        vec![b.data.clone(), a.data.clone()]
    );
    assert!(all.iter().all(|x| x.index.is_some()));
    assert_eq!(
        da.get(2, a.namespace, a.commitment)
            .await
            .unwrap()
            .unwrap()
            .data,
        a.data
    );
    assert!(
        da.get(2, a.namespace, b.commitment)
            .await
            .unwrap()
            .is_none()
    );
    assert!(da.included(2, a.namespace, a.commitment).await.unwrap());
    assert!(!da.included(2, b.namespace, a.commitment).await.unwrap());
    // An unknown namespace has nothing (the server answers `null`).
    let nothing = Namespace::new_v0(b"unknown").unwrap();
    assert!(da.get_all(2, &[nothing]).await.unwrap().is_empty());
    // A height beyond the head is transient, with both heights.
    let err = da.get_all(9, &[a.namespace]).await.unwrap_err();
    assert_eq!(
        err,
        DaError::FutureHeight {
            requested: 9,
            head: 2
        }
    );
    assert!(err.is_transient());
    assert_eq!(local.head_height(), 2);
    server.stop().await;
    // A stopped server is transient too.
    let err = da.head().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_tokens_oversize_and_invalid_blobs_are_refused_with_their_reason() {
    let (server, local) = server().await;
    let url = format!("http://{}", server.addr);
    for token in [Some("wrong"), None] {
        let da = CelestiaDa::new(&url, token).await.unwrap();
        assert_eq!(da.head().await.unwrap_err(), DaError::Unauthorized);
        assert_eq!(
            da.submit(vec![blob(b"x", b"y")]).await.unwrap_err(),
            DaError::Unauthorized
        );
    }
    let da = CelestiaDa::new(&url, Some(TOKEN)).await.unwrap();
    // Larger than a request may be (the client's 10 MiB limit, the server's 16 MiB).
    let huge = blob(b"big", &vec![7; 12 * 1024 * 1024]);
    let err = da.submit(vec![huge]).await.unwrap_err();
    assert!(matches!(err, DaError::Refused(_)), "{err}");
    // Fits a request, but not a square: a share each, one more than 128 × 128 shares.
    let many: Vec<_> = (0..128 * 128 + 1u32)
        .map(|i| blob(b"many", &i.to_be_bytes()))
        .collect();
    let err = da.submit(many).await.unwrap_err();
    assert!(
        matches!(err, DaError::Refused(ref m) if m.contains("square")),
        "{err}"
    );
    // A blob whose data does not match its commitment.
    let mut forged = blob(b"xx", b"data");
    forged.data = b"other".to_vec();
    let err = da.submit(vec![forged]).await.unwrap_err();
    assert!(
        matches!(err, DaError::Refused(ref m) if m.contains("commitment")),
        "{err}"
    );
    assert_eq!(local.head_height(), 1, "nothing refused was stored");
    server.stop().await;
}
