//! What a celestia-node client sees on the wire, checked on raw HTTP exchanges.

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{TOKEN, blob, server};
use babel_da::DataAvailability;

/// POST `body` and return the status and the parsed JSON body (Null when it is not JSON).
async fn post(addr: std::net::SocketAddr, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn results_errors_and_calls_without_params_are_what_celestia_node_sends() {
    let (server, local) = server().await;
    let a = blob(b"wire", b"payload");
    local.submit(vec![a.clone()]).await.unwrap();
    let addr = server.addr;
    // A call without a `params` key, as celestia-node clients send argument-less calls.
    let (status, head) = post(
        addr,
        Some(TOKEN),
        r#"{"jsonrpc":"2.0","id":1,"method":"header.NetworkHead"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(head["result"]["header"]["height"], "2");
    assert_eq!(
        head["result"]["dah"]["row_roots"].as_array().map(Vec::len),
        Some(2),
        "a 1x1 square extends to 2x2"
    );
    // `blob.GetAll` with nothing to find is `null`, not `[]`.
    let ns = serde_json::to_value(babel_da::Namespace::new_v0(b"none").unwrap()).unwrap();
    let body = json!({"jsonrpc":"2.0","id":2,"method":"blob.GetAll","params":[2, [ns]]});
    let (status, all) = post(addr, Some(TOKEN), &body.to_string()).await;
    assert_eq!(status, 200);
    assert!(all.get("result").is_some_and(Value::is_null), "{all}");
    // Found blobs carry base64 data, share version, commitment and index.
    let ns = serde_json::to_value(a.namespace).unwrap();
    let body = json!({"jsonrpc":"2.0","id":3,"method":"blob.GetAll","params":[2, [ns]]});
    let (_, all) = post(addr, Some(TOKEN), &body.to_string()).await;
    let first = &all["result"][0];
    assert_eq!(first["data"], "cGF5bG9hZA==");
    assert_eq!(first["share_version"], 0);
    assert_eq!(first["index"], 0);
    assert_eq!(
        first["commitment"],
        serde_json::to_value(a.commitment).unwrap()
    );
    // Errors are JSON-RPC error objects in an HTTP 200.
    let body = json!({"jsonrpc":"2.0","id":4,"method":"header.GetByHeight","params":[99]});
    let (status, err) = post(addr, Some(TOKEN), &body.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(err["error"]["code"], 1);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("given height is from the future"),
        "{err}"
    );
    let body = json!({"jsonrpc":"2.0","id":5,"method":"blob.Get","params":[2, ns, serde_json::to_value(blob(b"x", b"y").commitment).unwrap()]});
    let (_, err) = post(addr, Some(TOKEN), &body.to_string()).await;
    assert_eq!(err["error"]["message"], "blob: not found");
    // Without the token: HTTP 401 before anything is parsed.
    let (status, _) = post(
        addr,
        None,
        r#"{"jsonrpc":"2.0","id":6,"method":"header.NetworkHead"}"#,
    )
    .await;
    assert_eq!(status, 401);
    server.stop().await;
}
