//! `scripts/ensure-libclang.sh`, which the README's commands and CI run first: it must find
//! libclang where bindgen (clang-sys) would, and only there. LLVM's `libclang-cpp`, which
//! other packages pull in, is not libclang: a machine with only that must install it.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ensure-libclang.sh")
}

/// Run the check (never the install) against the fake tree `root`: `true` if libclang is
/// found.
fn found(root: &Path, libclang_path: Option<&Path>) -> bool {
    let mut cmd = Command::new("bash");
    cmd.arg(script())
        .env("ROOT", root)
        .env("CHECK_ONLY", "1")
        .env_remove("LIBCLANG_PATH");
    if let Some(dir) = libclang_path {
        cmd.env("LIBCLANG_PATH", dir);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => true,
        Some(1) if stdout.trim() == "missing" => false,
        _ => panic!("unexpected result {:?}: {stdout}", out.status),
    }
}

/// A fake tree holding empty files at `files` (relative paths).
fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }
    dir
}

#[test]
fn only_libclang_itself_counts_not_libclang_cpp() {
    assert!(!found(tree(&[]).path(), None), "an empty machine");
    let cpp_only = tree(&[
        "usr/lib/x86_64-linux-gnu/libclang-cpp.so.14",
        "usr/lib/llvm-14/lib/libclang-cpp.so.14",
        "usr/lib/llvm-14/lib/libclang-cpp.so",
    ]);
    assert!(!found(cpp_only.path(), None), "only LLVM's libclang-cpp");
    for lib in [
        "usr/lib/llvm-14/lib/libclang-14.so.1",
        "usr/lib/llvm-16/lib/libclang.so.1",
        "usr/lib/x86_64-linux-gnu/libclang-14.so.14.0.6",
        "usr/lib/x86_64-linux-gnu/libclang.so",
        "usr/local/lib/libclang.so.18",
    ] {
        let root = tree(&["usr/lib/x86_64-linux-gnu/libclang-cpp.so.14", lib]);
        assert!(found(root.path(), None), "{lib}");
    }
}

#[test]
fn libclang_path_is_searched_alone() {
    let dir = tree(&["opt/llvm/libclang.so"]);
    let empty = tree(&[]);
    assert!(found(empty.path(), Some(&dir.path().join("opt/llvm"))));
    let cpp = tree(&["opt/llvm/libclang-cpp.so.17"]);
    assert!(!found(empty.path(), Some(&cpp.path().join("opt/llvm"))));
    // A libclang elsewhere does not count when LIBCLANG_PATH names a directory without one,
    // since that is the only place bindgen will look.
    let elsewhere = tree(&["usr/lib/llvm-14/lib/libclang-14.so.1"]);
    assert!(!found(elsewhere.path(), Some(&cpp.path().join("opt/llvm"))));
    // It may name the library file itself.
    assert!(found(
        empty.path(),
        Some(&dir.path().join("opt/llvm/libclang.so"))
    ));
    assert!(!found(
        empty.path(),
        Some(&cpp.path().join("opt/llvm/libclang-cpp.so.17"))
    ));
}
