//! The SMTP client (`zatan::mail`) against a real SMTP server on loopback
//! (`tests/peers/smtp_server.py`: aiosmtpd with STARTTLS, implicit TLS, AUTH,
//! and a private CA). What arrived is read back by Python's `email` module.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::smtp::{self, Mode, SmtpOptions, SmtpPeer, FROM, PASSWORD, USER};
use common::TempDir;
use zatan::config::Config;
use zatan::mail::{Attachment, Mailer, SendError};

const WAIT: Duration = Duration::from_secs(10);
const SUBJECT: &str = "Your book from zatan";

fn mailer_from(toml: &str) -> Mailer {
    let config = Config::parse(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    Mailer::new(&config.mail).unwrap_or_else(|e| panic!("{e}")).expect("mail is on")
}

fn mailer(peer: &SmtpPeer) -> Mailer {
    mailer_from(&peer.mail_config_toml())
}

fn book(name: &str, len: usize) -> Attachment {
    Attachment {
        file_name: name.into(),
        content_type: "application/epub+zip".into(),
        // every byte value, including CR and LF, which must survive untouched
        bytes: (0..len).map(|i| (i * 31 % 256) as u8).collect(),
    }
}

fn peer(options: SmtpOptions) -> SmtpPeer {
    SmtpPeer::start(options)
}

#[test]
fn starttls_with_auth_delivers_the_book_intact() {
    let peer = peer(SmtpOptions::default());
    let mailer = mailer(&peer);
    let epub = book("三体.epub", 200_000);
    mailer.send("reader@kindle.com", SUBJECT, &epub).unwrap();
    // a text file keeps its bare LFs: no line-ending conversion on the way
    let txt = Attachment {
        file_name: "notes.txt".into(),
        content_type: "text/plain; charset=utf-8".into(),
        bytes: "第一章\n甲\n\n第二章\r\n乙\n".as_bytes().to_vec(),
    };
    mailer.send("other@free.kindle.com", "Notes", &txt).unwrap();

    let received = peer.wait_for(2, WAIT);
    let first = &received[0];
    assert_eq!(first.mail_from, FROM);
    assert_eq!(first.rcpt_tos, ["reader@kindle.com"]);
    assert_eq!(first.header_to, "reader@kindle.com");
    assert_eq!(first.header_from, FROM);
    assert_eq!(first.auth_login.as_deref(), Some(USER));
    assert!(first.tls, "the message arrived unencrypted");
    assert_eq!(first.subject_raw, SUBJECT);
    assert!(first.subject_ascii && first.message_ascii);
    assert!(first.message_id.ends_with("@zatan.example>"), "{}", first.message_id);
    assert!(first.body_text.as_deref().is_some_and(|b| b.is_ascii() && b.contains("zatan")));
    assert_eq!(first.attachments.len(), 1);
    let attachment = &first.attachments[0];
    assert_eq!(attachment.file_name.as_deref(), Some("三体.epub"));
    assert!(
        attachment.content_disposition_raw.contains("filename*0*=utf-8''%E4%B8%89%E4%BD%93.epub"),
        "{}",
        attachment.content_disposition_raw
    );
    assert_eq!(attachment.content_type, "application/epub+zip");
    assert_eq!(attachment.transfer_encoding, "base64");
    assert!(attachment.bytes == epub.bytes, "the attachment bytes changed on the way");
    let estimate = mailer.encoded_size(&epub, SUBJECT);
    assert!(
        estimate >= first.eml.len() as u64,
        "estimate {estimate} below the real {}",
        first.eml.len()
    );

    let second = &received[1];
    assert_eq!(second.rcpt_tos, ["other@free.kindle.com"]);
    assert_eq!(second.attachments[0].file_name.as_deref(), Some("notes.txt"));
    assert_eq!(second.attachments[0].content_type, "text/plain");
    assert!(second.attachments[0].bytes == txt.bytes);
}

#[test]
fn implicit_tls_delivers() {
    let peer = peer(SmtpOptions { mode: Mode::Tls, ..Default::default() });
    mailer(&peer).send("reader@kindle.com", SUBJECT, &book("Dune.epub", 5000)).unwrap();
    let received = peer.wait_for(1, WAIT);
    assert!(received[0].tls);
    assert_eq!(received[0].auth_login.as_deref(), Some(USER));
    assert_eq!(received[0].attachments[0].file_name.as_deref(), Some("Dune.epub"));
}

#[test]
fn plain_to_a_loopback_relay_delivers() {
    let peer = peer(SmtpOptions { mode: Mode::Plain, auth: false, ..Default::default() });
    mailer(&peer).send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap();
    let received = peer.wait_for(1, WAIT);
    assert!(!received[0].tls);
    assert_eq!(received[0].auth_login, None);
}

#[test]
fn wrong_password_tells_the_owner_without_showing_it() {
    let peer = peer(SmtpOptions::default());
    let wrong = "Wr0ng-Passw0rd";
    let mailer = mailer_from(&peer.mail_config_toml().replace(PASSWORD, wrong));
    let err = mailer.send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap_err();
    let SendError::Misconfigured(reason) = &err else { panic!("{err:?}") };
    assert!(
        reason.contains("535")
            && reason.contains("mail.username")
            && reason.contains("mail.password"),
        "{reason}"
    );
    assert!(!err.to_string().contains(wrong) && !format!("{err:?}").contains(wrong), "{err}");
    assert!(!err.is_transient());
    assert!(peer.received().is_empty());
}

#[test]
fn rejected_recipient_is_permanent_with_the_servers_words() {
    let peer = peer(SmtpOptions { reject_rcpt: Some("nobody".into()), ..Default::default() });
    let err = mailer(&peer).send("nobody@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap_err();
    let SendError::Permanent(reason) = &err else { panic!("{err:?}") };
    assert!(reason.contains("550") && reason.contains("Recipient address rejected"), "{reason}");
    assert!(peer.received().is_empty());
}

#[test]
fn server_down_is_transient_and_the_same_mail_goes_after_restart() {
    let mut peer = peer(SmtpOptions::default());
    let mailer = mailer(&peer);
    let epub = book("a.epub", 3000);
    mailer.send("first@kindle.com", SUBJECT, &book("first.epub", 10)).unwrap();
    peer.wait_for(1, WAIT);
    peer.stop();
    let err = mailer.send("reader@kindle.com", SUBJECT, &epub).unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{}", peer.port())), "{err}");
    peer.restart();
    mailer.send("reader@kindle.com", SUBJECT, &epub).unwrap();
    let received = peer.wait_for(2, WAIT);
    assert_eq!(
        received[0].rcpt_tos,
        ["first@kindle.com"],
        "the restarted peer overwrote what it had"
    );
    assert!(received[1].attachments[0].bytes == epub.bytes);
}

#[test]
fn temporary_failure_is_transient() {
    let peer = peer(SmtpOptions { tempfail: 1, ..Default::default() });
    let mailer = mailer(&peer);
    let err = mailer.send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap_err();
    let SendError::Transient(reason) = &err else { panic!("{err:?}") };
    assert!(reason.contains("451"), "{reason}");
    assert!(peer.received().is_empty());
    mailer.send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap();
    peer.wait_for(1, WAIT);
}

#[test]
fn a_server_that_stops_answering_is_transient() {
    let peer = peer(SmtpOptions { stall_data: Some(Duration::from_secs(3)), ..Default::default() });
    let mailer =
        mailer_from(&peer.mail_config_toml().replace("timeout_secs = 10", "timeout_secs = 1"));
    let err = mailer.send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap_err();
    let SendError::Transient(reason) = &err else { panic!("{err:?}") };
    assert!(reason.contains("did not answer within 1 s"), "{reason}");
}

#[test]
fn too_big_is_refused_before_connecting() {
    // a listener that would see any connection attempt
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mailer = mailer_from(&format!(
        "[mail]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nfrom = \"{FROM}\"\nmax_mail_bytes = 20000\n"
    ));
    let big = book("big.epub", 15_000);
    let err = mailer.send("reader@kindle.com", SUBJECT, &big).unwrap_err();
    match err {
        SendError::TooBig { size, limit } => {
            assert_eq!(limit, 20_000);
            assert!(size > 20_000 && size == mailer.encoded_size(&big, SUBJECT));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(mailer.max_mail_bytes(), 20_000);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        listener.accept().unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the mailer connected"
    );
}

#[test]
fn a_certificate_not_signed_by_a_trusted_ca_is_refused() {
    let peer = peer(SmtpOptions { mode: Mode::Tls, ..Default::default() });
    let dir = TempDir::new("mail-other-ca");
    let other_ca = dir.path().join("other.pem");
    smtp::write_unrelated_ca(&other_ca);
    let own_ca = peer.ca_file().display().to_string();
    let with_other = peer.mail_config_toml().replace(&own_ca, &other_ca.display().to_string());
    let without = peer
        .mail_config_toml()
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .collect::<Vec<_>>()
        .join("\n");
    for toml in [with_other, without] {
        let err = mailer_from(&toml)
            .send("reader@kindle.com", SUBJECT, &book("a.epub", 100))
            .unwrap_err();
        let SendError::Misconfigured(reason) = &err else { panic!("{err:?}") };
        assert!(reason.contains("not trusted") && reason.contains("mail.ca_file"), "{reason}");
    }
    assert!(peer.received().is_empty());
}

#[test]
fn a_security_mode_that_does_not_match_the_port_is_explained() {
    // implicit TLS spoken to a STARTTLS port, and STARTTLS expected from a relay that offers none
    let starttls = peer(SmtpOptions::default());
    let err = mailer_from(&starttls.mail_config_toml().replace("\"starttls\"", "\"tls\""))
        .send("reader@kindle.com", SUBJECT, &book("a.epub", 100))
        .unwrap_err();
    assert!(matches!(&err, SendError::Misconfigured(r) if r.contains("mail.security")), "{err:?}");
    let plain = peer(SmtpOptions { mode: Mode::Plain, auth: false, ..Default::default() });
    let toml = format!(
        "{}ca_file = {:?}\n",
        plain.mail_config_toml().replace("\"plain\"", "\"starttls\""),
        starttls.ca_file().display().to_string()
    );
    let err =
        mailer_from(&toml).send("reader@kindle.com", SUBJECT, &book("a.epub", 100)).unwrap_err();
    assert!(matches!(&err, SendError::Misconfigured(r) if r.contains("STARTTLS")), "{err:?}");
    assert!(plain.received().is_empty() && starttls.received().is_empty());
}

#[test]
fn check_shows_the_mail_settings_without_the_password() {
    let peer = peer(SmtpOptions::default());
    let dir = TempDir::new("mail-check");
    std::fs::write(dir.path().join("config.toml"), peer.mail_config_toml()).unwrap();
    let (code, stdout, stderr) = common::run_cli(dir.path(), &["check", "--config", "config.toml"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout
            .contains(&format!("Kindle mail: on (127.0.0.1:{} starttls, from {FROM}", peer.port())),
        "{stdout}"
    );
    assert!(stdout.contains("mail.password = *** (16 characters)"), "{stdout}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD), "{stdout}{stderr}");
    // a config error names the key and never quotes the password
    let broken = peer
        .mail_config_toml()
        .replace("security = \"starttls\"", "security = \"plain\"")
        .replace("127.0.0.1", "smtp.example.com");
    std::fs::write(dir.path().join("config.toml"), broken).unwrap();
    let (code, stdout, stderr) = common::run_cli(dir.path(), &["check", "--config", "config.toml"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("mail.security"), "{stderr}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD), "{stdout}{stderr}");
}
