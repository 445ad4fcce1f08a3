//! A small raw HTTP/1.1 client over loopback sockets: requests written by hand,
//! and the one response reader of the tests. It reads strictly (httparse on
//! the head, the body by its Content-Length), because the tests of the HTTP
//! front use it to judge what the server sends.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response head longer than this is an error, not something to wait out.
const HEAD_MAX_BYTES: usize = 64 * 1024;
/// More headers than this is an error.
const MAX_HEADERS: usize = 64;
const READ_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// In the order and spelling the server sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header of this name, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the server said it closes the connection after this response.
    pub fn closes(&self) -> bool {
        self.header("Connection") == Some("close")
    }
}

/// POST `body` on a new connection (closed after the response).
pub fn post(addr: SocketAddr, target: &str, content_type: &str, body: &[u8]) -> Response {
    let mut raw = format!(
        "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    request(addr, &raw)
}

/// Send raw bytes on a new connection and read one response; panics without one.
pub fn request(addr: SocketAddr, raw: &[u8]) -> Response {
    try_request(addr, raw).unwrap_or_else(|e| panic!("no response from {addr}: {e}"))
}

/// Send raw bytes on a new connection and read one response.
pub fn try_request(addr: SocketAddr, raw: &[u8]) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.write_all(raw)?;
    read_response(&mut BufReader::new(stream))
}

/// Read one response from a buffered stream; bytes after it (a pipelined
/// response) stay in the buffer. A 1xx response has no body; the others have
/// as many bytes as their Content-Length says, none without one.
pub fn read_response<R: Read>(reader: &mut BufReader<R>) -> io::Result<Response> {
    read(reader, true)
}

/// Read the response to a HEAD request: its head only, whatever Content-Length says.
pub fn read_head_response<R: Read>(reader: &mut BufReader<R>) -> io::Result<Response> {
    read(reader, false)
}

fn read<R: Read>(reader: &mut BufReader<R>, body_follows: bool) -> io::Result<Response> {
    let head = read_head(reader)?;
    let mut parsed_headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut parsed_headers);
    let malformed = |why: &dyn std::fmt::Display| {
        invalid(format!("a malformed response head ({why}): {:?}", String::from_utf8_lossy(&head)))
    };
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(malformed(&"incomplete")),
        Err(e) => return Err(malformed(&e)),
    }
    if parsed.version != Some(1) {
        return Err(malformed(&"not HTTP/1.1"));
    }
    let status = parsed.code.expect("a complete head has a status");
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let value =
            String::from_utf8(header.value.to_vec()).map_err(|_| malformed(&"not UTF-8"))?;
        headers.push((header.name.to_string(), value));
    }
    let mut response = Response { status, headers, body: Vec::new() };
    if !body_follows || status < 200 {
        return Ok(response);
    }
    let length: usize = match response.header("Content-Length") {
        None => 0,
        Some(value) => value.parse().map_err(|_| malformed(&"bad Content-Length"))?,
    };
    response.body = vec![0; length];
    reader.read_exact(&mut response.body).map_err(|e| waiting_for("a response body", e))?;
    Ok(response)
}

/// The status line and headers, through the blank line that ends them.
fn read_head<R: Read>(reader: &mut BufReader<R>) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    loop {
        let line_start = head.len();
        let read =
            reader.read_until(b'\n', &mut head).map_err(|e| waiting_for("a response head", e))?;
        if read == 0 {
            let e = io::Error::new(ErrorKind::UnexpectedEof, "the connection closed");
            return Err(waiting_for("a response head", e));
        }
        if matches!(&head[line_start..], b"\r\n" | b"\n") {
            return Ok(head);
        }
        if head.len() > HEAD_MAX_BYTES {
            return Err(invalid(format!("a response head over {HEAD_MAX_BYTES} bytes")));
        }
    }
}

fn waiting_for(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("while waiting for {what}: {e}"))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, message)
}
