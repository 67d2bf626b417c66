//! The mock's own certificate authority, made fresh for every run.
//!
//! Snippets reach the mocked hosts over real TLS: the runtimes are told to trust this authority
//! (its PEM certificate), and the mock presents, for the host a client names (SNI), a certificate
//! signed by it for that host alone (or, without a mocked name, one for `localhost`, `127.0.0.1`
//! and `::1`): one certificate naming thousands of hosts would be refused by clients. Every
//! certificate is signed when the authority is made and its private key is dropped right after,
//! so nothing else can ever be signed with it.

use super::MockError;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::collections::HashMap;
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
    /// A fresh CA (rcgen), a certificate signed by it for each host given, and one for
    /// "localhost", 127.0.0.1 and ::1; the server configuration picks one by SNI.
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

        // One certificate per mocked host, chosen by the name the client asks for (SNI): a
        // single certificate naming thousands of hosts grows past what clients will parse. They
        // are all signed here, up front (about 30 µs each), so that the authority's key can
        // still be dropped at the end of this function. They share one key pair.
        let leaf_key = KeyPair::generate()?;
        let signing_key = rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(
            PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        ))?;
        let issue = |names: Vec<String>| -> Result<Arc<CertifiedKey>, MockError> {
            let mut params = CertificateParams::new(names.clone())?;
            params.distinguished_name = distinguished_name(&names[0]);
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.use_authority_key_identifier_extension = true;
            params.not_before = now - VALID_BEFORE;
            params.not_after = now + VALID_AFTER;
            let certificate = params.signed_by(&leaf_key, &issuer)?;
            Ok(Arc::new(CertifiedKey::new(
                vec![CertificateDer::clone(certificate.der())],
                Arc::clone(&signing_key),
            )))
        };
        let local = issue(
            ["localhost", "127.0.0.1", "::1"]
                .map(str::to_string)
                .to_vec(),
        )?;
        let mut by_name = HashMap::new();
        for host in hosts {
            if let std::collections::hash_map::Entry::Vacant(entry) =
                by_name.entry(normalized(host))
            {
                let certified = issue(vec![entry.key().clone()])?;
                entry.insert(certified);
            }
        }
        drop(issuer);
        let resolver = ByServerName { by_name, local };

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
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

/// A host name as certificates and SNI compare it: lower case, no trailing dot.
fn normalized(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The certificate for the name a client asked for (SNI): the mocked host's own, else (no SNI,
/// an address, or a host nobody mocked) the one for localhost, 127.0.0.1 and ::1.
#[derive(Debug)]
struct ByServerName {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    local: Arc<CertifiedKey>,
}

impl ResolvesServerCert for ByServerName {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let certified = client_hello
            .server_name()
            .and_then(|name| self.by_name.get(&normalized(name)))
            .unwrap_or(&self.local);
        Some(Arc::clone(certified))
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
