//! Plain HTTP/1.0 over loopback, for the emulator's `/_emulator/` endpoints and the operator's
//! `/metrics`: a few requests per phase, so a blocking socket on the blocking pool is enough, and the
//! bench needs no HTTP client crate (and changes no feature of the workspace's dependencies).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::Result;

/// A reply: the status code and the body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if the status is 2xx.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        if !(200..300).contains(&self.status) {
            return Err(format!("{what}: HTTP {}: {}", self.status, self.text()).into());
        }
        serde_json::from_slice(&self.body).map_err(|e| format!("{what}: bad JSON: {e}").into())
    }
}

/// `METHOD url` with an optional JSON body. Only `http://127.0.0.1:PORT/…` (loopback) URLs.
pub async fn request(method: &str, url: &str, body: Option<Vec<u8>>) -> Result<Reply> {
    let (method, url) = (method.to_string(), url.to_string());
    tokio::task::spawn_blocking(move || blocking(&method, &url, body.as_deref()))
        .await
        .map_err(|e| format!("HTTP task: {e}"))?
}

pub async fn get(url: &str) -> Result<Reply> {
    request("GET", url, None).await
}

fn blocking(method: &str, url: &str, body: Option<&[u8]>) -> Result<Reply> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:")) {
        return Err(format!("the bench talks to loopback only, not {host}").into());
    }
    let mut stream = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(b) = body {
        stream.write_all(b)?;
    }
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{method} {url}: {e}"))?;
    parse(&raw).ok_or_else(|| format!("{method} {url}: malformed HTTP reply").into())
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[end + 4..].to_vec();
    let mut chunked = false;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "content-length" {
            body.truncate(v.parse().ok()?);
        } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply { status, body })
}

/// Decodes a chunked body (servers answer HTTP/1.0 without it; kept for safety).
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}
