//! The operator's surface on running `babel start` processes: metrics scraped by the reference
//! Python Prometheus client while blocks are decided, server reflection read by the Python
//! reflection client (which speaks `v1alpha`), readiness through downtime, sync and a lost
//! quorum (over HTTP and the gRPC health service), and block-phase spans exported to an
//! OpenTelemetry collector.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use babel_node::txpath::admission::sign;
use babel_proto::v1::{self, node_client::NodeClient};
use ed25519_dalek::SigningKey;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value,
};
use serde_json::Value;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    grpc::{evm_tx, submit},
    python::{python_env, run, text},
    support::{
        Validator, babel, channel, edit_config, grpc_addr, health_becomes, http_get, ops_addr,
        runtime, stderr, stdout, testnet_homes, wait_finalized, wait_for,
    },
};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// Every sample of `addr`'s `/metrics`, parsed by the Python OpenMetrics parser, keyed by
/// `name{label="value",...}` (labels sorted).
fn scrape(python: &Path, addr: SocketAddr) -> BTreeMap<String, f64> {
    let out = run(Command::new(python)
        .arg(script("scrape.py"))
        .args(["--url", &format!("http://{addr}/metrics")]));
    assert!(out.status.success(), "scrape.py: {}", text(&out));
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut samples = BTreeMap::new();
    for s in parsed["samples"].as_array().unwrap() {
        let labels: Vec<String> = s[1]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap()))
            .collect();
        let key = if labels.is_empty() {
            s[0].as_str().unwrap().to_owned()
        } else {
            format!("{}{{{}}}", s[0].as_str().unwrap(), labels.join(","))
        };
        samples.insert(key, s[2].as_f64().unwrap());
    }
    samples
}

fn get(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("{key} not scraped; have {:?}", samples.keys()))
}

fn wait_ready(addr: SocketAddr, timeout: Duration) -> bool {
    wait_for(timeout, || {
        http_get(addr, "/health/ready").is_some_and(|(code, _)| code == 200)
    })
}

#[test]
fn e2e_metrics_move_with_blocks_and_reflection_serves_v1alpha() {
    let Some(python) = python_env() else {
        return;
    };
    let chain = "babel-ops";
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, chain);
    let mut nodes: Vec<Validator> = homes.iter().map(|h| Validator::start(h, 0)).collect();
    let ops = ops_addr(&homes[0]);
    assert!(
        wait_ready(ops, Duration::from_secs(90)),
        "node 0 never ready: {:?}",
        http_get(ops, "/health/ready")
    );
    assert_eq!(
        http_get(ops, "/health/live").map(|(code, _)| code),
        Some(200)
    );

    let before = scrape(&python, ops);
    assert_eq!(get(&before, "babel_ready"), 1.0);
    assert!(wait_for(Duration::from_secs(10), || {
        let s = scrape(&python, ops);
        get(&s, "babel_validator_peers") == 3.0 && get(&s, "babel_peers") >= 3.0
    }));
    let families = [
        "babel_mempool_transactions",
        "babel_mempool_bytes",
        "babel_consensus_round",
        "babel_consensus_proposals_built_total",
        "babel_consensus_proposals_accepted_total",
        "babel_consensus_proposals_refused_total{reason=\"execution\"}",
        "babel_admission_total{result=\"mempool_full\"}",
        "babel_store_write_seconds_count",
    ];
    for family in families {
        get(&before, family);
    }

    // A transaction through node 0: admitted, executed on the EVM, committed.
    let key = SigningKey::from_bytes(&[9; 32]);
    let rt = runtime();
    rt.block_on(async {
        let mut client = NodeClient::new(channel(grpc_addr(&homes[0])).await);
        let accepted = submit(&mut client, sign(&evm_tx(&key, chain, 1, 0, 8), &key)).await;
        assert!(accepted.accepted, "{}", accepted.message);
        let refused = submit(&mut client, sign(&evm_tx(&key, "elsewhere", 1, 0, 8), &key)).await;
        assert!(!refused.accepted);
        wait_finalized(&mut client, &accepted.hash).await;
        let status = client
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(status.ready, "{}", status.readiness);
        assert_eq!(status.validator_peers, Some(3));
    });
    // The block holding it is committed on node 0 by now; a later scrape sees more blocks.
    let height = get(&before, "babel_height");
    assert!(wait_for(Duration::from_secs(30), || {
        get(&scrape(&python, ops), "babel_height") > height + 2.0
    }));
    let after = scrape(&python, ops);
    for grown in [
        "babel_height",
        "babel_consensus_height",
        "babel_consensus_decide_latency_seconds_count",
        "babel_block_transactions_count",
        "babel_block_phase_seconds_count{phase=\"commit\"}",
        "babel_block_phase_seconds_count{phase=\"execute\"}",
        "babel_store_write_seconds_count",
        "babel_last_block_time_seconds",
    ] {
        assert!(
            get(&after, grown) > get(&before, grown),
            "{grown}: {} then {}",
            get(&before, grown),
            get(&after, grown)
        );
    }
    assert!(
        get(
            &after,
            "babel_block_phase_seconds_count{phase=\"validate\"}"
        ) > 0.0
    );
    // The store reports the memory it keeps: its memtables hold the blocks just written.
    assert!(get(&after, "babel_store_memory_bytes{part=\"memtables\"}") > 0.0);
    get(&after, "babel_store_memory_bytes{part=\"block_cache\"}");
    get(&after, "babel_store_memory_bytes{part=\"table_readers\"}");
    assert!(get(&after, "babel_block_transactions_sum") >= 1.0);
    assert!(get(&after, "babel_block_gas_sum") >= 21_000.0);
    let frames = get(&after, "babel_vm_frames_total{vm=\"evm\"}");
    assert!(frames >= 1.0);
    assert!(get(&after, "babel_admission_total{result=\"accepted\"}") >= 1.0);
    assert!(get(&after, "babel_admission_total{result=\"wrong_chain\"}") >= 1.0);
    assert!(
        get(
            &after,
            "babel_grpc_requests_total{method=\"babel.v1.Node/SubmitTransaction\"}"
        ) >= 2.0
    );
    assert!(
        get(
            &after,
            "babel_grpc_requests_total{method=\"babel.v1.Node/Status\"}"
        ) >= 1.0
    );
    // Clients' read-only calls run EVM frames too, but not in blocks: the VM metrics do not
    // move (and no other transaction is in flight).
    rt.block_on(async {
        let mut client = NodeClient::new(channel(grpc_addr(&homes[0])).await);
        for _ in 0..3 {
            let call = client
                .call(v1::CallRequest {
                    transaction: Some(evm_tx(&key, chain, 1, 0, 8)),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(call.receipt.is_some());
        }
    });
    let later = scrape(&python, ops);
    assert_eq!(get(&later, "babel_vm_frames_total{vm=\"evm\"}"), frames);
    assert!(
        get(
            &later,
            "babel_grpc_requests_total{method=\"babel.v1.Node/Call\"}"
        ) >= 3.0
    );
    // The operator's summary of the same node.
    let out = babel(&[
        "status",
        "--endpoint",
        &format!("http://{}", grpc_addr(&homes[0])),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    for line in [
        "chain       babel-ops",
        "readiness   ready",
        "peers       3 validators",
        "validators  4",
    ] {
        assert!(summary.contains(line), "{line:?} missing from\n{summary}");
    }
    // The engine's own metrics are served too, apart.
    let (code, engine) = http_get(ops, "/metrics/engine").unwrap();
    assert_eq!(code, 200);
    assert!(
        engine.contains("malachitebft_core_consensus_height"),
        "{engine}"
    );

    // Reflection as generic tools use it: services listed, descriptors resolved (v1alpha).
    let out = run(Command::new(&python)
        .arg(script("reflect.py"))
        .args(["--endpoint", &grpc_addr(&homes[1]).to_string()]));
    assert!(out.status.success(), "reflect.py: {}", text(&out));
    let reflected: Value = serde_json::from_slice(&out.stdout).unwrap();
    let node = reflected["services"]["babel.v1.Node"].as_array().unwrap();
    for method in ["SubmitTransaction", "GetBlock", "StreamBlocks", "Status"] {
        assert!(node.iter().any(|m| m == method), "{method} not in {node:?}");
    }
    assert_eq!(
        reflected["messages"]["babel.v1.Node/Status"],
        serde_json::json!(["babel.v1.StatusRequest", "babel.v1.StatusResponse"])
    );
    assert!(reflected["services"]["grpc.health.v1.Health"].is_array());

    for (i, n) in nodes.iter_mut().enumerate() {
        assert_eq!(n.exited(), None, "validator {i}: {}", n.report());
        n.kill();
    }
}

#[test]
fn e2e_readiness_follows_catching_up_and_a_lost_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 4, "babel-ready");
    // A tight limit, so that a short downtime leaves old blocks to catch up on and a lost
    // quorum shows quickly.
    for home in &homes {
        edit_config(home, |c| c.ops.max_block_age_ms = 3_000);
    }
    let ops: Vec<SocketAddr> = homes.iter().map(|h| ops_addr(h)).collect();
    let grpc: Vec<SocketAddr> = homes.iter().map(|h| grpc_addr(h)).collect();
    let mut nodes: Vec<Validator> = homes.iter().map(|h| Validator::start(h, 0)).collect();
    for addr in &ops {
        assert!(
            wait_ready(*addr, Duration::from_secs(90)),
            "{addr} never ready"
        );
    }
    let rt = runtime();
    assert!(rt.block_on(health_becomes(grpc[3], ServingStatus::Serving)));

    // Node 3 is down while the others go on; restarted, it catches up through sync, and is
    // not ready until it has.
    nodes[3].kill();
    let down = nodes[0].logged_height();
    // Blocks of the first 12 s are older than the limit (3 s) plus the clock drift allowed
    // (10 s) by the time node 3 is back.
    std::thread::sleep(Duration::from_secs(25));
    assert!(
        nodes[0].logged_height() > down + 5,
        "the chain did not move on"
    );
    nodes[3] = Validator::start(&homes[3], 1);
    // Every state node 3 goes through, polled often: catching up may take under a second.
    let mut seen: Vec<(u16, String)> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        if let Some((code, body)) = http_get(ops[3], "/health/ready") {
            let state = |b: &str| b.split(':').next().unwrap_or_default().trim().to_owned();
            if seen
                .last()
                .is_none_or(|(_, last)| state(last) != state(&body))
            {
                seen.push((code, body.trim().to_owned()));
            }
            if code == 200 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("node 3 after restart ({:?}): {seen:?}", started.elapsed());
    assert!(
        seen.iter()
            .any(|(code, body)| *code == 503 && body.starts_with("catching up")),
        "no catching-up state observed: {seen:?}"
    );
    assert_eq!(seen.last().map(|(code, _)| *code), Some(200));
    assert!(seen[..seen.len() - 1].iter().all(|(code, _)| *code == 503));

    // Two of four down: no quorum. The others stop committing and stop being ready, over
    // HTTP, gRPC health, Status and the metric alike.
    nodes[2].kill();
    nodes[3].kill();
    for i in [0, 1] {
        assert!(
            wait_for(Duration::from_secs(30), || {
                http_get(ops[i], "/health/ready")
                    .is_some_and(|(code, body)| code == 503 && body.starts_with("stalled"))
            }),
            "node {i} still ready without a quorum: {:?}",
            http_get(ops[i], "/health/ready")
        );
        assert_eq!(
            http_get(ops[i], "/health/live").map(|(code, _)| code),
            Some(200)
        );
    }
    rt.block_on(async {
        assert!(health_becomes(grpc[0], ServingStatus::NotServing).await);
        let status = NodeClient::new(channel(grpc[1]).await)
            .status(v1::StatusRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(!status.ready);
        assert!(
            status.readiness.starts_with("stalled"),
            "{}",
            status.readiness
        );
    });
    let (_, metrics) = http_get(ops[0], "/metrics").unwrap();
    assert!(metrics.lines().any(|l| l == "babel_ready 0"), "{metrics}");

    // The quorum back: ready again.
    nodes[2] = Validator::start(&homes[2], 1);
    nodes[3] = Validator::start(&homes[3], 2);
    for addr in &ops {
        assert!(
            wait_ready(*addr, Duration::from_secs(90)),
            "{addr} not ready again"
        );
    }
    assert!(rt.block_on(health_becomes(grpc[0], ServingStatus::Serving)));

    // Alone, a restarted validator cannot commit: it is not ready, and its metrics report the
    // height its store holds, not 0.
    for n in &mut nodes {
        n.kill();
    }
    nodes[0] = Validator::start(&homes[0], 1);
    assert!(wait_for(Duration::from_secs(30), || {
        http_get(ops[0], "/health/ready").is_some_and(|(_, body)| body.starts_with("starting"))
    }));
    let (_, metrics) = http_get(ops[0], "/metrics").unwrap();
    let held: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("babel_height ")?.parse().ok())
        .unwrap();
    assert!(
        held > 0 && held >= down,
        "babel_height {held} after a restart"
    );
    nodes[0].kill();
}

/// A received span: its name and its attributes as strings.
type Span = (String, BTreeMap<String, String>);

/// An OTLP trace collector: every span it receives.
#[derive(Clone, Default)]
struct Collector(std::sync::Arc<std::sync::Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let attributes = span
                        .attributes
                        .iter()
                        .map(|kv| {
                            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                                Some(any_value::Value::StringValue(s)) => s.clone(),
                                Some(any_value::Value::IntValue(i)) => i.to_string(),
                                other => format!("{other:?}"),
                            };
                            (kv.key.clone(), value)
                        })
                        .collect();
                    spans.push((span.name, attributes));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn e2e_block_phases_are_exported_as_spans_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let homes = testnet_homes(dir.path(), 1, "babel-otlp");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let collector = Collector::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(collector.clone());
    rt.spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    edit_config(&homes[0], |c| {
        c.log.otlp_endpoint = format!("http://{addr}")
    });
    let mut node = Validator::start(&homes[0], 0);
    let phases = |collector: &Collector| -> std::collections::BTreeSet<String> {
        collector
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _)| name == "block")
            .filter_map(|(_, attributes)| attributes.get("phase").cloned())
            .collect()
    };
    // The batch exporter sends every few seconds.
    assert!(
        wait_for(Duration::from_secs(60), || {
            phases(&collector).is_superset(&["build", "execute", "commit"].map(String::from).into())
        }),
        "phases exported: {:?}; {}",
        phases(&collector),
        node.report()
    );
    let spans = collector.0.lock().unwrap().clone();
    // Only the node's own spans, by default: not the engine's, one per network message.
    let foreign: Vec<&String> = spans
        .iter()
        .map(|(name, _)| name)
        .filter(|name| *name != "block")
        .collect();
    assert!(
        foreign.is_empty(),
        "spans exported besides the block phases: {foreign:?}"
    );
    let commit = spans
        .iter()
        .find(|(name, a)| name == "block" && a.get("phase").map(String::as_str) == Some("commit"))
        .unwrap();
    assert!(
        commit
            .1
            .get("height")
            .is_some_and(|h| h.parse::<u64>().is_ok_and(|h| h >= 1)),
        "{commit:?}"
    );
    assert_eq!(node.exited(), None);
    node.kill();
}
