//! HTTPS for trying the demo from a phone on the same network (`serve --demo --lan`). A
//! phone's browser opens the camera only on a secure page, so the demo serves HTTPS with a
//! certificate made at start-up for this machine's LAN address (rcgen), through rustls. The
//! certificate is self-signed: the phone shows a warning once, which the person trying the
//! demo accepts. A production deployment terminates TLS in front of the service instead
//! (docs/deployment.md).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// Why HTTPS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot make the demo's certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The address other devices on the network reach this machine at: the source address of
/// the route to a public address (no packet is sent). `None` without such a route.
pub fn lan_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

/// A new self-signed certificate for `hosts` (IP addresses or names), served by
/// [`SelfSigned::acceptor`].
pub struct SelfSigned {
    pub acceptor: TlsAcceptor,
    /// The certificate (DER), for this process's own client to trust it and nothing else.
    pub der: Vec<u8>,
    /// Its SHA-256 (hex), for the operator to compare with what the phone shows.
    pub fingerprint: String,
}

/// Makes a key and a self-signed certificate for `hosts`, and a TLS acceptor serving it.
pub fn self_signed(hosts: &[String]) -> Result<SelfSigned, TlsError> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())?;
    let der = certified.cert.der().clone();
    let fingerprint = crate::state::sha256_hex(&der);
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![der], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        der: certified.cert.der().to_vec(),
        fingerprint,
    })
}

/// `text` as a QR code drawn with half-block characters, two rows of modules per line, for
/// a terminal (dark modules on a light background, with the quiet zone).
pub fn terminal_qr(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_made_for_the_given_hosts() {
        let one = self_signed(&["192.0.2.7".into(), "localhost".into()]).unwrap();
        assert_eq!(one.fingerprint.len(), 64);
        assert_eq!(one.fingerprint, crate::state::sha256_hex(&one.der));
        let other = self_signed(&["192.0.2.7".into()]).unwrap();
        assert_ne!(one.fingerprint, other.fingerprint, "a new key every start");
    }

    #[test]
    fn the_qr_code_is_drawn_in_half_blocks() {
        let qr = terminal_qr("https://192.0.2.7:8080/demo").unwrap();
        assert!(qr.lines().count() > 10);
        assert!(qr.contains('█') || qr.contains('▀') || qr.contains('▄'));
    }
}
