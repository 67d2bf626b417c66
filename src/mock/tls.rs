//! The mock's own certificate authority, made fresh for every run.
//!
//! Snippets reach the mocked hosts over real TLS: the runtimes are told to trust this authority
//! (its PEM certificate), and the mock presents, for the host a client names (SNI), a certificate
//! signed by it for that host alone (or, without a mocked name, one for `localhost`, `127.0.0.1`
//! and `::1`): one certificate naming thousands of hosts would be refused by clients. Every
//! certificate is signed when the authority is made and its private key is dropped right after,
//! so nothing else can ever be signed with it; except when a mapping without `host` answers
//! every host: then no list of names exists beforehand, so the authority's key is kept for the
//! run and a certificate is signed for each name a client asks for (SNI), once, when it asks.

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
use std::sync::{Arc, Mutex, PoisonError};
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
        Self::make(hosts, false)
    }

    /// The authority a mock definition needs: [`generate`](Self::generate) for its hosts, and,
    /// when one of its mappings answers any host, certificates signed on demand for any name a
    /// client asks for.
    pub fn for_definition(definition: &super::MockDefinition) -> Result<Self, MockError> {
        Self::make(definition.hosts(), definition.answers_any_host())
    }

    fn make(hosts: &[String], any_host: bool) -> Result<Self, MockError> {
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

        // One certificate per mocked host, chosen by the name the client asks for (SNI): a
        // single certificate naming thousands of hosts grows past what clients will parse. Each
        // is signed when a client first asks for it (about 30 µs), so thousands of mocked hosts
        // cost nothing at start; they share one key pair. The authority's key stays in this
        // process's memory for the mock's lifetime (snippets never see it: they get the
        // authority's certificate only).
        let leaf_key = KeyPair::generate()?;
        let signing_key = rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(
            PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        ))?;
        let signer = Signer {
            issuer: Issuer::new(authority_params, authority_key),
            leaf_key,
            signing_key,
            now,
        };
        let local = signer.issue(
            ["localhost", "127.0.0.1", "::1"]
                .map(str::to_string)
                .to_vec(),
        )?;
        // A name no certificate can hold is refused now, not at a client's first handshake.
        let mut listed = std::collections::HashSet::new();
        for host in hosts {
            let name = normalized(host);
            CertificateParams::new(vec![name.clone()])?;
            listed.insert(name);
        }
        let resolver = ByServerName {
            listed,
            any_host,
            local,
            on_demand: OnDemand {
                signer,
                issued: Mutex::new(HashMap::new()),
            },
        };

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

/// What signs server certificates: the authority (its parameters and key) and the key pair
/// every server certificate shares.
struct Signer {
    issuer: Issuer<'static, KeyPair>,
    leaf_key: KeyPair,
    signing_key: Arc<dyn rustls::sign::SigningKey>,
    now: OffsetDateTime,
}

impl Signer {
    /// A server certificate for `names` (the first is its common name).
    fn issue(&self, names: Vec<String>) -> Result<Arc<CertifiedKey>, MockError> {
        let mut params = CertificateParams::new(names.clone())?;
        params.distinguished_name = distinguished_name(&names[0]);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = self.now - VALID_BEFORE;
        params.not_after = self.now + VALID_AFTER;
        let certificate = params.signed_by(&self.leaf_key, &self.issuer)?;
        Ok(Arc::new(CertifiedKey::new(
            vec![CertificateDer::clone(certificate.der())],
            Arc::clone(&self.signing_key),
        )))
    }
}

/// Server certificates, signed when a client first asks for a name.
struct OnDemand {
    signer: Signer,
    /// Names already signed: every mocked host's, and up to [`ON_DEMAND_KEPT`] others (later
    /// ones are signed again on each handshake, so a client naming endless hosts of a mapping
    /// that answers any host cannot grow the mock).
    issued: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

/// How many certificates for names nobody listed are kept for reuse.
const ON_DEMAND_KEPT: usize = 10_000;

impl OnDemand {
    fn certificate_for(&self, name: &str, listed: bool) -> Option<Arc<CertifiedKey>> {
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(certified) = issued.get(name) {
            return Some(Arc::clone(certified));
        }
        // A name rcgen cannot put in a certificate gets the local one (the client then says
        // why it does not trust it).
        let certified = self.signer.issue(vec![name.to_string()]).ok()?;
        if listed || issued.len() < ON_DEMAND_KEPT {
            issued.insert(name.to_string(), Arc::clone(&certified));
        }
        Some(certified)
    }
}

/// The certificate for the name a client asked for (SNI): a mocked host's own (or, when a
/// mapping answers any host, any name's), signed on first use; else (no SNI, an address, or a
/// host nobody mocked) the one for localhost, 127.0.0.1 and ::1.
struct ByServerName {
    listed: std::collections::HashSet<String>,
    any_host: bool,
    local: Arc<CertifiedKey>,
    on_demand: OnDemand,
}

impl std::fmt::Debug for ByServerName {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ByServerName")
            .field("names", &self.listed.len())
            .field("any_host", &self.any_host)
            .finish()
    }
}

impl ResolvesServerCert for ByServerName {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = client_hello.server_name().map(normalized) else {
            return Some(Arc::clone(&self.local));
        };
        let listed = self.listed.contains(&name);
        let signed = (listed || self.any_host)
            .then(|| self.on_demand.certificate_for(&name, listed))
            .flatten();
        Some(signed.unwrap_or_else(|| Arc::clone(&self.local)))
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
