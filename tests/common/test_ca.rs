//! A certificate authority made at test time with the `openssl` command (no key or certificate is
//! committed), and server certificates it signs for the names a test needs.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestCa {
    dir: PathBuf,
    /// The CA's certificate: what a client given `--ca-bundle` trusts.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate and its key, as PEM files.
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Issued {
    /// The flags that make `s3meta sim` serve HTTPS with this certificate.
    pub fn sim_flags(&self) -> [&str; 4] {
        ["--tls-cert", s(&self.cert), "--tls-key", s(&self.key)]
    }
}

/// `openssl req` making a new P-256 key, unencrypted, into `key`.
const NEW_P256_KEY: [&str; 6] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
];

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl TestCa {
    /// A new CA in `dir` (made if missing), named `name`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        std::fs::create_dir_all(dir).unwrap();
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        openssl(
            &[
                &["req", "-x509"][..],
                &NEW_P256_KEY,
                &[
                    s(&key),
                    "-out",
                    s(&cert),
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN={name}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            ]
            .concat(),
        );
        TestCa {
            dir: dir.to_owned(),
            cert,
            key,
        }
    }

    /// A server certificate for `sans` (`DNS:name` or `IP:address`), signed by this CA.
    pub fn issue(&self, name: &str, sans: &[&str]) -> Issued {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        let ext = self.dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
                sans.join(",")
            ),
        )
        .unwrap();
        openssl(
            &[
                &["req"][..],
                &NEW_P256_KEY,
                &[s(&key), "-out", s(&csr), "-subj", &format!("/CN={name}")],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            s(&csr),
            "-CA",
            s(&self.cert),
            "-CAkey",
            s(&self.key),
            "-CAcreateserial",
            "-out",
            s(&cert),
            "-days",
            "2",
            "-extfile",
            s(&ext),
        ]);
        Issued { cert, key }
    }
}
