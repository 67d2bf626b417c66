//! The mock's own certificate authority, made fresh for every run.
//!
//! Snippets reach the mocked hosts over real TLS: the runtimes are told to trust this authority
//! (its PEM certificate), and the mock presents a server certificate signed by it that names every
//! mocked host plus `localhost`, `127.0.0.1` and `::1`. The authority's private key is dropped as
//! soon as that certificate is signed, so nothing else can ever be signed with it.

use super::MockError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// A certificate authority and the server configuration presenting a certificate it signed.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    certificate_pem: String,
    server_config: Arc<ServerConfig>,
}

/// How long the certificates are valid: a day of slack for skewed clocks, and long enough for
/// any run.
const VALID_BEFORE: Duration = Duration::days(1);
const VALID_AFTER: Duration = Duration::days(30);

impl CertificateAuthority {
    /// A fresh CA (rcgen) and a leaf certificate signed by it for every host given plus
    /// "localhost" and 127.0.0.1.
    pub fn generate(hosts: &[String]) -> Result<Self, MockError> {
        let now = OffsetDateTime::now_utc();

        let authority_key = KeyPair::generate()?;
        let mut authority_params = CertificateParams::new(Vec::<String>::new())?;
        authority_params.distinguished_name = distinguished_name("sidebyside mock authority");
        authority_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        authority_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        authority_params.not_before = now - VALID_BEFORE;
        authority_params.not_after = now + VALID_AFTER;
        let authority_certificate = authority_params.self_signed(&authority_key)?;
        let issuer = Issuer::new(authority_params, authority_key);

        let mut names: Vec<String> = hosts.iter().map(|host| host.to_ascii_lowercase()).collect();
        names.extend(["localhost", "127.0.0.1", "::1"].map(str::to_string));
        let mut seen = std::collections::HashSet::new();
        names.retain(|name| seen.insert(name.clone()));

        let server_key = KeyPair::generate()?;
        let mut server_params = CertificateParams::new(names.clone())?;
        server_params.distinguished_name = distinguished_name(&names[0]);
        server_params.is_ca = IsCa::ExplicitNoCa;
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.use_authority_key_identifier_extension = true;
        server_params.not_before = now - VALID_BEFORE;
        server_params.not_after = now + VALID_AFTER;
        let server_certificate = server_params.signed_by(&server_key, &issuer)?;

        let chain = vec![CertificateDer::clone(server_certificate.der())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        // wiremock serves HTTP/2 as well as HTTP/1.1 (hyper-util's automatic connection
        // builder, which tells the two apart by the connection preface), so offer both.
        server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // No TLS 1.3 session tickets: every snippet is a new process that cannot resume a
        // session, and tickets still unread by the client when a fault resets the connection
        // would turn the reset into a plain end of stream for some clients (Node).
        server_config.send_tls13_tickets = 0;

        Ok(CertificateAuthority {
            certificate_pem: authority_certificate.pem(),
            server_config: Arc::new(server_config),
        })
    }

    /// The CA certificate, PEM, for clients to trust.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The server certificate and key, for the mock's HTTPS listeners.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server_config)
    }
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "sidebyside");
    name.push(DnType::CommonName, common_name);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_pem_authority_and_a_server_config_offering_both_protocols() {
        let authority = CertificateAuthority::generate(&["API.example.com".to_string()])
            .expect("certificates are generated");
        assert!(authority
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----"));
        let config = authority.server_config();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn a_host_that_is_no_valid_name_is_an_error() {
        let result = CertificateAuthority::generate(&["b\u{e4}d.example".to_string()]);
        assert!(
            matches!(result, Err(MockError::Certificate(_))),
            "{result:?}"
        );
    }
}
