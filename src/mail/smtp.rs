//! One SMTP exchange (RFC 5321): connect, greet, protect the connection,
//! log in, hand over one message for one recipient, quit.
//!
//! Only what zatan's mail needs: no pipelining, no pool, no 8BITMIME or
//! SMTPUTF8 (the message is 7-bit), no DSN. Every read and write is limited
//! by the relay's timeout, and a reply is refused when it grows past
//! [`MAX_REPLY_LINE`] bytes a line or [`MAX_REPLY_LINES`] lines.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::config::{MailSecurity, Secret};

const MAX_REPLY_LINE: u64 = 4096;
const MAX_REPLY_LINES: usize = 256;

/// Why an exchange failed.
#[derive(Debug)]
pub enum Error {
    /// The connection could not be made, broke, or timed out. A failed TLS
    /// handshake is in here too: rustls's error wrapped in the `io::Error`.
    Io(io::Error),
    /// The server answered a command with 4xx or 5xx.
    Refused { command: &'static str, reply: Reply },
    /// The server lacks what the settings require (STARTTLS, a login method).
    Unsupported(String),
    /// The server's answer breaks the protocol.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Refused { command, reply } => write!(f, "{command}: {reply}"),
            Error::Unsupported(what) | Error::Protocol(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// A server's reply: its code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The text of every line, joined.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text())
    }
}

/// One reply line: its code, whether more lines follow, and its text.
fn parse_line(line: &str) -> Result<(u16, bool, &str), String> {
    let bad = || format!("the server sent {:?}, not an SMTP reply", truncate(line));
    let (code, rest) = match line.as_bytes() {
        [a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => {
            let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            (code, &line[3..])
        }
        _ => return Err(bad()),
    };
    match rest.as_bytes().first() {
        None => Ok((code, false, "")),
        Some(b' ') => Ok((code, false, &rest[1..])),
        Some(b'-') => Ok((code, true, &rest[1..])),
        Some(_) => Err(bad()),
    }
}

fn truncate(text: &str) -> &str {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads one whole reply, every line of it, from `input`.
fn read_reply(input: &mut impl BufRead) -> Result<Reply, Error> {
    let mut code = None;
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        input.by_ref().take(MAX_REPLY_LINE).read_until(b'\n', &mut raw)?;
        if raw.is_empty() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            )));
        }
        if raw.last() != Some(&b'\n') {
            return Err(Error::Protocol(format!(
                "the server sent a reply line over {MAX_REPLY_LINE} bytes or cut it off"
            )));
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let (line_code, more, text) = parse_line(line).map_err(Error::Protocol)?;
        if *code.get_or_insert(line_code) != line_code {
            return Err(Error::Protocol(format!(
                "the server mixed reply codes {} and {line_code} in one reply",
                code.unwrap_or_default()
            )));
        }
        lines.push(text.to_string());
        if !more {
            return Ok(Reply { code: line_code, lines });
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err(Error::Protocol(format!(
                "the server sent a reply of over {MAX_REPLY_LINES} lines"
            )));
        }
    }
}

/// What an EHLO answer offers, as far as zatan cares.
#[derive(Debug, Default, PartialEq, Eq)]
struct Extensions {
    starttls: bool,
    plain: bool,
    login: bool,
}

impl Extensions {
    fn of(ehlo: &Reply) -> Extensions {
        let mut found = Extensions::default();
        // the first line is the server's greeting, not a keyword
        for line in ehlo.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
            // "AUTH=LOGIN PLAIN" is what some old servers still send
            let mechanisms = match keyword.strip_prefix("AUTH=") {
                Some(first) => Some(first.to_string()),
                None if keyword == "AUTH" => Some(String::new()),
                None => None,
            };
            match mechanisms {
                Some(first) => {
                    for mechanism in std::iter::once(first.as_str()).chain(words) {
                        match mechanism.to_ascii_uppercase().as_str() {
                            "PLAIN" => found.plain = true,
                            "LOGIN" => found.login = true,
                            _ => {}
                        }
                    }
                }
                None if keyword == "STARTTLS" => found.starttls = true,
                None => {}
            }
        }
        found
    }

    /// PLAIN (one round trip) when offered, else LOGIN.
    fn login_mechanism(&self) -> Option<Mechanism> {
        if self.plain {
            Some(Mechanism::Plain)
        } else if self.login {
            Some(Mechanism::Login)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Login,
}

/// Writes `data` as DATA's content: every line starting with `.` gets a
/// second one, and the end is marked by a line holding only `.`.
fn write_data(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let mut line_start = true;
    let mut from = 0;
    for (i, &b) in data.iter().enumerate() {
        if line_start && b == b'.' {
            out.write_all(&data[from..i])?;
            out.write_all(b".")?;
            from = i;
        }
        line_start = b == b'\n';
    }
    out.write_all(&data[from..])?;
    if data.is_empty() || data.ends_with(b"\r\n") {
        out.write_all(b".\r\n")
    } else {
        out.write_all(b"\r\n.\r\n")
    }
}

/// The TCP connection, in the clear or under TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A relay to send through, set up once from the `[mail]` settings.
pub struct Relay {
    host: String,
    port: u16,
    security: MailSecurity,
    /// The client setup and the name the certificate must carry; None for `plain`.
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    /// The EHLO name.
    hello: String,
    /// The login and password, for AUTH.
    credentials: Option<(String, Secret)>,
    /// For connecting, and for each read and write.
    timeout: Duration,
}

impl Relay {
    /// `extra_roots` are trusted on top of Mozilla's; unused for `plain`.
    pub fn new(
        host: &str,
        port: u16,
        security: MailSecurity,
        extra_roots: Vec<CertificateDer<'static>>,
        hello: String,
        credentials: Option<(String, Secret)>,
        timeout: Duration,
    ) -> Result<Relay, String> {
        let tls = match security {
            MailSecurity::Plain => None,
            MailSecurity::Tls | MailSecurity::Starttls => {
                let mut roots = RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                for der in extra_roots {
                    roots.add(der).map_err(|e| e.to_string())?;
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
                Some((Arc::new(config), name))
            }
        };
        Ok(Relay { host: host.to_string(), port, security, tls, hello, credentials, timeout })
    }

    /// Hands `data` (a formatted message) to the relay for `to`, from `from`.
    pub fn send(&self, from: &str, to: &str, data: &[u8]) -> Result<(), Error> {
        let tcp = self.connect()?;
        let stream = match (&self.tls, self.security) {
            (Some(tls), MailSecurity::Tls) => self.wrap(tls, tcp)?,
            _ => Stream::Plain(tcp),
        };
        let mut session = Session { io: BufReader::new(stream) };
        session.expect("the greeting", 220)?;
        let mut extensions = session.ehlo(&self.hello)?;
        if let (Some(tls), MailSecurity::Starttls) = (&self.tls, self.security) {
            if !extensions.starttls {
                return Err(Error::Unsupported(
                    "the server does not offer STARTTLS, which mail.security = \"starttls\" requires".into(),
                ));
            }
            session.command("STARTTLS", "STARTTLS", 220)?;
            if !session.io.buffer().is_empty() {
                // anything sent before the handshake could be an injected reply
                return Err(Error::Protocol(
                    "the server sent data ahead of the TLS handshake".into(),
                ));
            }
            let Stream::Plain(tcp) = session.io.into_inner() else {
                unreachable!("STARTTLS is only sent in the clear")
            };
            session = Session { io: BufReader::new(self.wrap(tls, tcp)?) };
            extensions = session.ehlo(&self.hello)?;
        }
        if let Some((user, password)) = &self.credentials {
            session.login(&extensions, user, password.expose())?;
        }
        session.command("MAIL FROM", &format!("MAIL FROM:<{from}>"), 250)?;
        session.command("RCPT TO", &format!("RCPT TO:<{to}>"), 250)?;
        session.command("DATA", "DATA", 354)?;
        write_data(session.io.get_mut(), data)?;
        session.io.get_mut().flush()?;
        session.expect("the end of DATA", 250)?;
        // the mail is handed over: a failed goodbye changes nothing
        let _ = session.command("QUIT", "QUIT", 221);
        Ok(())
    }

    /// The first address that accepts a connection within the timeout.
    fn connect(&self) -> io::Result<TcpStream> {
        let mut last = None;
        for address in (self.host.as_str(), self.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout))?;
                    tcp.set_write_timeout(Some(self.timeout))?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{} has no address", self.host))
        }))
    }

    /// `tcp` under TLS, the handshake done (so its failure shows here).
    fn wrap(
        &self,
        (config, name): &(Arc<ClientConfig>, ServerName<'static>),
        tcp: TcpStream,
    ) -> io::Result<Stream> {
        let connection = ClientConnection::new(config.clone(), name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut tls = StreamOwned::new(connection, tcp);
        while tls.conn.is_handshaking() {
            if tls.conn.complete_io(&mut tls.sock)? == (0, 0) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection ended during the TLS handshake",
                ));
            }
        }
        Ok(Stream::Tls(Box::new(tls)))
    }
}

struct Session {
    io: BufReader<Stream>,
}

impl Session {
    fn reply(&mut self) -> Result<Reply, Error> {
        read_reply(&mut self.io)
    }

    /// A reply of the class of `code` (any 2xx for 250, as 251 "will forward"
    /// is a yes too); 4xx and 5xx are refusals, anything else a protocol error.
    fn expect(&mut self, what: &'static str, code: u16) -> Result<Reply, Error> {
        let reply = self.reply()?;
        if reply.code / 100 == code / 100 {
            Ok(reply)
        } else {
            Err(unexpected(what, &reply))
        }
    }

    /// Sends `line` and reads the reply, which must be like `code` (see `expect`).
    fn command(&mut self, what: &'static str, line: &str, code: u16) -> Result<Reply, Error> {
        let stream = self.io.get_mut();
        stream.write_all(format!("{line}\r\n").as_bytes())?;
        stream.flush()?;
        self.expect(what, code)
    }

    fn ehlo(&mut self, hello: &str) -> Result<Extensions, Error> {
        let reply = self.command("EHLO", &format!("EHLO {hello}"), 250)?;
        Ok(Extensions::of(&reply))
    }

    fn login(&mut self, extensions: &Extensions, user: &str, password: &str) -> Result<(), Error> {
        let b64 = &base64::engine::general_purpose::STANDARD;
        match extensions.login_mechanism() {
            Some(Mechanism::Plain) => {
                let blob = b64.encode(format!("\0{user}\0{password}"));
                self.command("AUTH", &format!("AUTH PLAIN {blob}"), 235)?;
            }
            Some(Mechanism::Login) => {
                self.command("AUTH", "AUTH LOGIN", 334)?;
                self.command("AUTH", &b64.encode(user), 334)?;
                self.command("AUTH", &b64.encode(password), 235)?;
            }
            None => {
                return Err(Error::Unsupported(
                    "the server offers neither AUTH PLAIN nor AUTH LOGIN, and mail.username is set"
                        .into(),
                ))
            }
        }
        Ok(())
    }
}

/// `reply` was not the one `what` should get.
fn unexpected(what: &'static str, reply: &Reply) -> Error {
    if reply.code >= 400 {
        Error::Refused { command: what, reply: reply.clone() }
    } else {
        Error::Protocol(format!("the server answered {what} with {reply}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::TcpListener;

    fn reply(text: &str) -> Result<Reply, Error> {
        read_reply(&mut text.as_bytes())
    }

    #[test]
    fn replies_are_read_whole() {
        let r = reply("250-smtp.example.com hello\r\n250-AUTH LOGIN PLAIN\r\n250 STARTTLS\r\nNEXT")
            .unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["smtp.example.com hello", "AUTH LOGIN PLAIN", "STARTTLS"]);
        assert_eq!(r.to_string(), "250 smtp.example.com hello AUTH LOGIN PLAIN STARTTLS");
        // a bare code, and a bare LF, are accepted
        assert_eq!(reply("354\n").unwrap(), Reply { code: 354, lines: vec![String::new()] });
        let r = reply("550 5.1.1 <a@b.c>: no such mailbox\r\n").unwrap();
        assert_eq!((r.code, r.text().as_str()), (550, "5.1.1 <a@b.c>: no such mailbox"));
    }

    #[test]
    fn bad_replies_are_protocol_errors() {
        for bad in [
            "hello\r\n",
            "25\r\n",
            "2500 ok\r\n",
            "250_ok\r\n",
            "650 ok\r\n",
            "150 ok\r\n",
            "250-first\r\n251 second\r\n",
        ] {
            assert!(matches!(reply(bad), Err(Error::Protocol(_))), "{bad:?}");
        }
        let long = format!("250 {}\r\n", "x".repeat(5000));
        assert!(matches!(reply(&long), Err(Error::Protocol(_))));
        let many = "250-x\r\n".repeat(300) + "250 x\r\n";
        assert!(matches!(reply(&many), Err(Error::Protocol(_))));
        // the connection closing in the middle is an I/O failure, like any broken connection
        for cut in ["", "250-more to come\r\n", "250 no line end"] {
            match reply(cut) {
                Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{cut:?}"),
                Err(Error::Protocol(_)) if cut == "250 no line end" => {}
                other => panic!("{cut:?}: {other:?}"),
            }
        }
    }

    fn extensions(lines: &[&str]) -> Extensions {
        let lines = std::iter::once("smtp.example.com").chain(lines.iter().copied());
        Extensions::of(&Reply { code: 250, lines: lines.map(String::from).collect() })
    }

    #[test]
    fn plain_is_preferred_then_login() {
        assert_eq!(extensions(&["AUTH LOGIN PLAIN"]).login_mechanism(), Some(Mechanism::Plain));
        assert_eq!(extensions(&["auth cram-md5 login"]).login_mechanism(), Some(Mechanism::Login));
        assert_eq!(extensions(&["AUTH=LOGIN"]).login_mechanism(), Some(Mechanism::Login));
        assert_eq!(extensions(&["AUTH CRAM-MD5 XOAUTH2"]).login_mechanism(), None);
        assert_eq!(extensions(&["SIZE 1000", "8BITMIME"]).login_mechanism(), None);
        // the greeting line is not a keyword
        let greeting = Extensions::of(&Reply { code: 250, lines: vec!["AUTH PLAIN".into()] });
        assert_eq!(greeting, Extensions::default());
        assert!(extensions(&["PIPELINING", "starttls"]).starttls);
        assert!(!extensions(&["STARTTLSX"]).starttls);
    }

    fn stuffed(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_data(&mut out, data).unwrap();
        out
    }

    #[test]
    fn dots_at_line_starts_are_doubled_and_the_end_is_marked() {
        assert_eq!(stuffed(b".a\r\nb.c\r\n..d\r\n.\r\n"), b"..a\r\nb.c\r\n...d\r\n..\r\n.\r\n");
        assert_eq!(stuffed(b"no line end"), b"no line end\r\n.\r\n");
        assert_eq!(stuffed(b"x\r\n."), b"x\r\n..\r\n.\r\n");
        assert_eq!(stuffed(b""), b".\r\n");
        assert_eq!(stuffed(b"a\r\n"), b"a\r\n.\r\n");
    }

    /// A relay on loopback that answers `lines` in turn, one per command
    /// (the first is the greeting); returns what it read.
    fn scripted_server(lines: &'static [&'static str]) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            let mut input = BufReader::new(tcp.try_clone().unwrap());
            let mut heard = String::new();
            for (i, line) in lines.iter().enumerate() {
                if i > 0 && input.read_line(&mut heard).unwrap() == 0 {
                    break;
                }
                tcp.write_all(line.as_bytes()).unwrap();
            }
            // read what the client still sends until it hangs up
            let _ = input.read_to_string(&mut heard);
            heard
        });
        (port, server)
    }

    fn relay(port: u16, security: MailSecurity, credentials: bool) -> Relay {
        let credentials = credentials.then(|| ("u".to_string(), Secret::new("pw")));
        Relay::new(
            "127.0.0.1",
            port,
            security,
            Vec::new(),
            "zatan.example".into(),
            credentials,
            Duration::from_secs(10),
        )
        .unwrap()
    }

    #[test]
    fn starttls_missing_from_the_ehlo_answer_is_refused_in_the_clear() {
        let (port, server) = scripted_server(&[
            "220 relay ready\r\n",
            "250-relay\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n",
        ]);
        let err = relay(port, MailSecurity::Starttls, true).send("a@b.c", "d@e.f", b"x\r\n");
        assert!(matches!(&err, Err(Error::Unsupported(r)) if r.contains("STARTTLS")), "{err:?}");
        // nothing after EHLO: no credentials, no mail
        assert_eq!(server.join().unwrap(), "EHLO zatan.example\r\n");
    }

    #[test]
    fn a_plain_exchange_logs_in_and_hands_over_the_mail() {
        let (port, server) = scripted_server(&[
            "220 relay ready\r\n",
            "250-relay\r\n250 AUTH LOGIN\r\n",
            "334 VXNlcm5hbWU6\r\n",
            "334 UGFzc3dvcmQ6\r\n",
            "235 ok\r\n",
            "250 ok\r\n",
            "251 will forward\r\n",
            "354 go on\r\n",
            "250 queued\r\n",
            "221 bye\r\n",
        ]);
        relay(port, MailSecurity::Plain, true).send("a@b.c", "d@e.f", b".x\r\n").unwrap();
        let heard = server.join().unwrap();
        assert_eq!(
            heard,
            "EHLO zatan.example\r\nAUTH LOGIN\r\ndQ==\r\ncHc=\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n..x\r\n.\r\nQUIT\r\n"
        );
    }

    #[test]
    fn a_reply_of_the_wrong_class_is_a_protocol_error() {
        let (port, server) =
            scripted_server(&["220 relay\r\n", "250 relay\r\n", "354 go on already\r\n"]);
        let err = relay(port, MailSecurity::Plain, false).send("a@b.c", "d@e.f", b"x\r\n");
        assert!(
            matches!(&err, Err(Error::Protocol(r)) if r.contains("MAIL FROM with 354")),
            "{err:?}"
        );
        assert!(!server.join().unwrap().contains("RCPT"));
        // a TLS server that hangs up during the handshake
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            // end our side at once, and read theirs to the end, so no reset races the EOF
            tcp.shutdown(std::net::Shutdown::Write).unwrap();
            let _ = tcp.read_to_end(&mut Vec::new());
        });
        match relay(port, MailSecurity::Tls, false).send("a@b.c", "d@e.f", b"x\r\n") {
            Err(Error::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}"),
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    }

    #[test]
    fn no_login_mechanism_is_unsupported_and_refusals_keep_the_reply() {
        let (port, server) =
            scripted_server(&["220 relay\r\n", "250-relay\r\n250 AUTH CRAM-MD5\r\n"]);
        let err = relay(port, MailSecurity::Plain, true).send("a@b.c", "d@e.f", b"x\r\n");
        assert!(matches!(&err, Err(Error::Unsupported(r)) if r.contains("AUTH LOGIN")), "{err:?}");
        server.join().unwrap();
        let (port, server) = scripted_server(&[
            "220 relay\r\n",
            "250 relay\r\n",
            "250 ok\r\n",
            "550-5.1.1 no such\r\n550 mailbox\r\n",
        ]);
        match relay(port, MailSecurity::Plain, false).send("a@b.c", "d@e.f", b"x\r\n") {
            Err(Error::Refused { command: "RCPT TO", reply }) => {
                assert_eq!(reply.code, 550);
                assert_eq!(reply.text(), "5.1.1 no such mailbox");
            }
            other => panic!("{other:?}"),
        }
        assert!(!server.join().unwrap().contains("DATA"));
    }
}
