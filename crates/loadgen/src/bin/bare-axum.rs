//! `bare-axum`: the framework's ceiling. The same stack as the service (axum 0.8 on tokio,
//! HTTP/1.1) with one handler that reads the request body and answers a fixed JSON
//! envelope shaped like generate-token's, doing nothing else: no middleware, no logging,
//! no store. Prints the bound port on the first line of stdout.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use std::io::Write as _;

#[derive(Debug, Parser)]
#[command(
    name = "bare-axum",
    about = "A minimal axum server returning a fixed JSON envelope"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: std::net::SocketAddr,
}

/// Shaped like a generate-token answer, with the same field order and similar length.
const FIXED: &str = concat!(
    r#"{"code":"SUCCESS","message":"OK","data":{"token":"olat_"#,
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    r#"","expiredTime":1700003600000},"extra":null,"transactionId":"0123456789abcdef","#,
    r#""pricingStrategy":"FREE"}"#
);

async fn fixed(_body: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], FIXED)
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let port = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{port}")?;
        out.flush()?;
    }
    let app = Router::new()
        .route("/bench", get(fixed).post(fixed))
        .route("/healthz", get(healthz));
    axum::serve(listener, app).await?;
    Ok(())
}
