//! In-process start-up: 100 × `authflow_mock::MockServer::start()` against
//! 100 × `wiremock::MockServer::start()` in the same run, each started,
//! used once (one HTTP request proves it is ready) and shut down in turn.
//!
//! Run: `cargo bench -p authflow-bench --bench mock_startup`

use std::time::{Duration, Instant};

use authflow_bench::{ms, percentile};

const N: usize = 100;

#[tokio::main]
async fn main() {
    let http = reqwest_free_probe();
    // Warm-up: the process-wide RSA key and the wiremock pool exist once per process.
    let _ = authflow_mock::MockServer::start().await.expect("start");
    let _ = wiremock::MockServer::start().await;

    let mut ours = Vec::with_capacity(N);
    let mut theirs = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        let s = authflow_mock::MockServer::start().await.expect("start");
        http(s.addr()).await;
        ours.push(t.elapsed());
        s.shutdown().await;

        let t = Instant::now();
        let w = wiremock::MockServer::start().await;
        http(*w.address()).await;
        theirs.push(t.elapsed());
        drop(w);
    }
    report(&ours, &theirs);
}

fn report(ours: &[Duration], theirs: &[Duration]) {
    let (o50, o99) = (percentile(ours, 50.0), percentile(ours, 99.0));
    let (w50, w99) = (percentile(theirs, 50.0), percentile(theirs, 99.0));
    println!("start + first request (stop not timed), {N} runs each, interleaved");
    println!("| server | median | p99 |");
    println!("| --- | --- | --- |");
    println!("| authflow_mock::MockServer | {} | {} |", ms(o50), ms(o99));
    println!("| wiremock::MockServer | {} | {} |", ms(w50), ms(w99));
    println!(
        "ratio authflow-mock / wiremock: median {:.2}×, p99 {:.2}×",
        o50.as_secs_f64() / w50.as_secs_f64(),
        o99.as_secs_f64() / w99.as_secs_f64()
    );
}

/// A minimal HTTP/1.1 GET over a raw socket (no client start-up cost in the
/// measurement): returns once the status line arrives.
fn reqwest_free_probe()
-> impl Fn(std::net::SocketAddr) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    |addr| {
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET /__probe HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .expect("write");
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).await.expect("status line");
            assert!(buf.starts_with(b"HTTP/1.1"));
        })
    }
}
