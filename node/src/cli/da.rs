//! `babel da serve`: the embedded DA as a standalone server that several validators share,
//! speaking the celestia-node JSON-RPC subset (blob and header methods).

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use babel_da::{local::LocalDa, server};
use tracing::info;

/// `babel da serve` options.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Directory of the DA's database (created on first use).
    pub dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Bearer token every request must carry (`None`: no authentication).
    pub auth_token: Option<String>,
}

/// Serve until interrupted (SIGINT or SIGTERM).
pub async fn serve(options: &ServeOptions) -> anyhow::Result<()> {
    let da = LocalDa::open(&options.dir)
        .with_context(|| format!("opening the DA in {}", options.dir.display()))?;
    let head = da.head_height();
    let server = server::serve(da, options.listen, options.auth_token.clone()).await?;
    info!(
        addr = %server.addr,
        dir = %options.dir.display(),
        head,
        auth = options.auth_token.is_some(),
        "serving the DA (celestia-node JSON-RPC: blob.*, header.*)"
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("interrupted; shutting down"),
        _ = term.recv() => info!("terminated; shutting down"),
    }
    server.stop().await;
    Ok(())
}
