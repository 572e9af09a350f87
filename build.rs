//! Build script: compiles the C++ int8 shim (`cpp/quant_shim.cpp`) against libtorch's headers.
//!
//! libtorch is found where torch-sys found it: `DEP_TCH_LIBTORCH_LIB` (torch-sys, a direct
//! dependency for this reason, exports its lib directory; the headers sit in `../include`),
//! else `$LIBTORCH/include`. The shim's symbols resolve against `libtorch_cpu`/`libc10`,
//! which torch-sys already links.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=cpp/quant_shim.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");

    let root = match env::var_os("DEP_TCH_LIBTORCH_LIB") {
        Some(lib) => PathBuf::from(lib).join(".."),
        None => match env::var_os("LIBTORCH") {
            Some(dir) => PathBuf::from(dir),
            None => panic!(
                "cannot find libtorch's headers: neither DEP_TCH_LIBTORCH_LIB (from torch-sys) \
                 nor LIBTORCH is set; set LIBTORCH to the torch directory holding include/ and lib/"
            ),
        },
    };
    let include = root.join("include");
    if !include.join("ATen").is_dir() {
        panic!("libtorch headers not found under {}", include.display());
    }
    let cxx11_abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_string());

    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={cxx11_abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("cpp/quant_shim.cpp")
        .compile("jbolt_quant_shim");
}
