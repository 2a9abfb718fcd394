//! A loopback HTTP stub server for tests that need a real socket.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stub does with one connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StubReply {
    /// Answers with a status, headers and body (with a correct `content-length`).
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Waits, then answers as the inner reply does.
    Delay(Duration, Box<StubReply>),
    /// Reads the request, then closes the connection without a response.
    Drop,
    /// Sends headers announcing `announced` body bytes, sends `body`, then closes.
    Truncated {
        /// The status code.
        status: u16,
        /// The bytes actually sent.
        body: Vec<u8>,
        /// The `content-length` announced.
        announced: usize,
    },
}

impl StubReply {
    /// A JSON response.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
    }

    /// Adds a header to a [`StubReply::Respond`] (other replies are returned unchanged).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StubRequest {
    /// The request line and headers, as text.
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

/// A server on `127.0.0.1` that answers each connection with the next
/// [`StubReply`] and records what it received. With no reply left it answers
/// 500. Each connection is closed after one exchange. It stops when dropped.
#[derive(Debug)]
pub struct StubServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<StubRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StubServer {
    /// Binds a free loopback port and starts serving the replies in order.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound (a test environment failure).
    pub async fn start(replies: Vec<StubReply>) -> Self {
        #[allow(clippy::unwrap_used)] // A test utility: no port means no test.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        #[allow(clippy::unwrap_used)]
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&received);
        let task = tokio::spawn(async move {
            let mut replies = replies.into_iter();
            while let Ok((stream, _)) = listener.accept().await {
                let reply = replies.next().unwrap_or(StubReply::Respond {
                    status: 500,
                    headers: Vec::new(),
                    body: b"stub: no reply left".to_vec(),
                });
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let _ = serve(stream, reply, &record).await;
                });
            }
        });
        Self {
            addr,
            received,
            task,
        }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    #[must_use]
    pub fn received(&self) -> Vec<StubRequest> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<StubRequest> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Ok(StubRequest {
        head,
        body: data[head_end..].to_vec(),
    })
}

async fn serve(
    mut stream: TcpStream,
    mut reply: StubReply,
    record: &Mutex<Vec<StubRequest>>,
) -> std::io::Result<()> {
    let request = read_request(&mut stream).await?;
    record
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request);
    while let StubReply::Delay(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    match reply {
        StubReply::Respond {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} Stub\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            stream.write_all(out.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        StubReply::Truncated {
            status,
            body,
            announced,
        } => {
            let out = format!(
                "HTTP/1.1 {status} Stub\r\ncontent-length: {announced}\r\nconnection: close\r\n\r\n"
            );
            stream.write_all(out.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        StubReply::Drop | StubReply::Delay(..) => {}
    }
    stream.shutdown().await
}
