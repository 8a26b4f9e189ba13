//! Test certificates made by the real `openssl`: a private CA (`ca.crt`,
//! `ca.key`) in a temporary directory, certificates it signs for a server or
//! a client, and self-signed ones it does not know. Every key is EC P-256;
//! certificates are valid for two days unless made expired on purpose.
//!
//! Files are named after the certificate: `NAME.crt` and `NAME.key` in
//! [`Pki::dir`], which is removed when the `Pki` is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tools::{self, TempDir};

/// How long the certificates are valid, in days (`openssl -days`).
const DAYS: &str = "2";

/// A new EC P-256 key, unencrypted (arguments of `openssl req`).
const NEW_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// What a certificate is for: its `extendedKeyUsage`.
#[derive(Clone, Copy, Debug)]
pub enum Usage {
    /// `serverAuth`: a TLS server's certificate.
    Server,
    /// `clientAuth`: a client certificate for mutual TLS.
    Client,
}

impl Usage {
    fn extended_key_usage(self) -> &'static str {
        match self {
            Usage::Server => "serverAuth",
            Usage::Client => "clientAuth",
        }
    }
}

/// A private CA in its own temporary directory, and the certificates made
/// with it.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// A new CA, `ca.crt` and `ca.key`, with the common name `ca_cn`, in a
    /// temporary directory named after `label`.
    pub fn new(label: &str, ca_cn: &str) -> Pki {
        let pki = Pki {
            dir: TempDir::new(label),
        };
        let subject = format!("/CN={ca_cn}");
        let mut args = vec!["req", "-x509"];
        args.extend(NEW_KEY);
        args.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
        args.extend(["-subj", &subject, "-days", DAYS]);
        pki.openssl(&args);
        pki
    }

    /// `NAME.crt` and `NAME.key`: a certificate signed by the CA for the
    /// common name `cn`, the `subjectAltName` `san` (as openssl writes it:
    /// `DNS:localhost,IP:127.0.0.1`) and the given usage.
    pub fn issue(&self, name: &str, cn: &str, san: &str, usage: Usage) -> &Pki {
        self.sign(name, cn, san, usage, DAYS)
    }

    /// Like [`Pki::issue`], but valid for no time at all: returns once the
    /// certificate has expired (about a second after it is made).
    pub fn issue_expired(&self, name: &str, cn: &str, san: &str, usage: Usage) -> &Pki {
        self.sign(name, cn, san, usage, "0");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        self
    }

    /// `NAME.crt` and `NAME.key`: a self-signed certificate the CA knows
    /// nothing about, with the same common name, `subjectAltName` and usage
    /// a signed one would have.
    pub fn self_signed(&self, name: &str, cn: &str, san: &str, usage: Usage) -> &Pki {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        let subject = format!("/CN={cn}");
        let san = format!("subjectAltName={san}");
        let eku = format!("extendedKeyUsage={}", usage.extended_key_usage());
        let mut args = vec!["req", "-x509"];
        args.extend(NEW_KEY);
        args.extend(["-keyout", &key, "-out", &crt, "-subj", &subject]);
        args.extend(["-days", DAYS, "-addext", &san, "-addext", &eku]);
        self.openssl(&args);
        self
    }

    /// The directory holding every file.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// The path of a file: `ca.crt`, `ca.key`, `NAME.crt`, `NAME.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    /// A file's text (PEM).
    pub fn read(&self, name: &str) -> String {
        tools::read(self.path(name))
    }

    /// Copies files into `dir` under their own names (configuration files
    /// name them relatively).
    pub fn copy_to(&self, dir: &Path, names: &[&str]) {
        for name in names {
            let to = dir.join(name);
            std::fs::copy(self.path(name), &to)
                .unwrap_or_else(|e| panic!("cannot copy {name} to {}: {e}", to.display()));
        }
    }

    fn sign(&self, name: &str, cn: &str, san: &str, usage: Usage, days: &str) -> &Pki {
        let (key, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        std::fs::write(
            self.path(&ext),
            format!(
                "basicConstraints=CA:FALSE\nextendedKeyUsage={}\nsubjectAltName={san}\n",
                usage.extended_key_usage()
            ),
        )
        .unwrap_or_else(|e| panic!("cannot write {ext}: {e}"));
        let subject = format!("/CN={cn}");
        let mut args = vec!["req", "-new"];
        args.extend(NEW_KEY);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
        self.openssl(&args);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            days,
            "-out",
            &crt,
            "-extfile",
            &ext,
        ]);
        self
    }

    /// Runs `openssl` in the directory; fails the test if it fails.
    fn openssl(&self, args: &[&str]) {
        tools::run_ok(
            Command::new(tools::tool("openssl", tools::OPENSSL))
                .args(args)
                .current_dir(self.dir()),
        );
    }
}
