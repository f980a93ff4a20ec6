//! Generates the prost/tonic code for `babel.v1` with a vendored `protoc`, so building needs
//! no system protobuf compiler.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "babel/v1/transaction.proto",
        "babel/v1/block.proto",
        "babel/v1/consensus.proto",
        "babel/v1/node.proto",
        "babel/v1/da.proto",
        "babel/v1/registry.proto",
    ];
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    config.bytes(["."]);
    config.file_descriptor_set_path(out_dir.join("babel_descriptor.bin"));
    // The same messages either way; the `grpc` feature adds the service stubs.
    if std::env::var_os("CARGO_FEATURE_GRPC").is_some() {
        tonic_prost_build::configure()
            .file_descriptor_set_path(out_dir.join("babel_descriptor.bin"))
            .compile_with_config(config, &protos, &["."])?;
    } else {
        config.compile_protos(&protos, &["."])?;
    }
    Ok(())
}
