//! The API key: reading `--api-key-file` without ever blocking, and
//! masking the key in text that came from the API (an API that echoes the
//! key in a problem's `detail` must not leak it into logs or pages).

use std::borrow::Cow;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

/// The largest key file read, in bytes: a key is a few dozen bytes, and
/// anything larger is not a key file.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// What the key is replaced with in text from the API.
pub const MASK: &str = "***";

/// Why the key file could not be used; equal causes are warned about once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFileProblem {
    /// Opening or reading failed (missing, no permission, ...).
    Unreadable(io::ErrorKind, String),
    /// Not a regular file (a FIFO, a device, a directory, a socket): never
    /// read, since reading one may block for ever or never end.
    NotRegular(&'static str),
    /// Larger than [`MAX_KEY_FILE_BYTES`].
    TooLarge,
    /// Not UTF-8 text.
    NotText,
    /// Empty once surrounding whitespace is trimmed.
    Empty,
}

impl fmt::Display for KeyFileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileProblem::Unreadable(_, error) => write!(f, "cannot be read: {error}"),
            KeyFileProblem::NotRegular(kind) => {
                write!(f, "is {kind}, not a regular file; it is not read")
            }
            KeyFileProblem::TooLarge => write!(
                f,
                "is larger than {} KiB, too large for a key; it is not read",
                MAX_KEY_FILE_BYTES / 1024
            ),
            KeyFileProblem::NotText => write!(f, "is not UTF-8 text"),
            KeyFileProblem::Empty => write!(f, "is empty"),
        }
    }
}

/// Reads the key in the file at `path`, surrounding whitespace trimmed,
/// never blocking: the file is opened non-blocking, checked with `fstat`
/// before any read (only a regular file of at most
/// [`MAX_KEY_FILE_BYTES`] is read), and at most one byte more than that
/// is read in case it grew meanwhile.
pub fn read_key_file(path: &Path) -> Result<SecretString, KeyFileProblem> {
    let unreadable = |e: io::Error| KeyFileProblem::Unreadable(e.kind(), e.to_string());
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO without a writer would block without this.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(unreadable)?;
    let metadata = file.metadata().map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(KeyFileProblem::NotRegular(kind_of(&metadata.file_type())));
    }
    if metadata.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileProblem::TooLarge);
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyFileProblem::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| KeyFileProblem::NotText)?;
    let key = text.trim();
    if key.is_empty() {
        return Err(KeyFileProblem::Empty);
    }
    Ok(SecretString::from(key.to_owned()))
}

/// What a file that is not a regular one is, for the warning.
fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// `text` with every occurrence of `key` replaced by [`MASK`].
pub fn mask<'t>(text: &'t str, key: Option<&SecretString>) -> Cow<'t, str> {
    match key.map(ExposeSecret::expose_secret) {
        Some(key) if !key.is_empty() && text.contains(key) => Cow::Owned(text.replace(key, MASK)),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_masked_wherever_it_occurs() {
        let key = SecretString::from("sekrit-123");
        assert_eq!(
            mask("bad key sekrit-123 (was sekrit-123)", Some(&key)),
            "bad key *** (was ***)"
        );
        assert_eq!(mask("nothing here", Some(&key)), "nothing here");
        assert_eq!(mask("sekrit-123", None), "sekrit-123");
    }

    #[test]
    fn special_and_oversized_files_are_refused_without_reading() {
        let dir = std::env::temp_dir().join(format!("arize-key-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            read_key_file(&dir).unwrap_err(),
            KeyFileProblem::NotRegular("a directory")
        );
        let big = dir.join("big");
        std::fs::write(&big, vec![b'k'; MAX_KEY_FILE_BYTES as usize + 1]).unwrap();
        assert_eq!(read_key_file(&big).unwrap_err(), KeyFileProblem::TooLarge);
        let edge = dir.join("edge");
        std::fs::write(&edge, vec![b'k'; MAX_KEY_FILE_BYTES as usize]).unwrap();
        assert!(read_key_file(&edge).is_ok(), "64 KiB exactly is read");
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_key_file(&fifo).unwrap_err(),
            KeyFileProblem::NotRegular("a FIFO")
        );
        assert_eq!(
            read_key_file(Path::new("/dev/zero")).unwrap_err(),
            KeyFileProblem::NotRegular("a device")
        );
        std::fs::write(dir.join("blank"), " \n").unwrap();
        assert_eq!(
            read_key_file(&dir.join("blank")).unwrap_err(),
            KeyFileProblem::Empty
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
