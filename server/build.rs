//! Compiles `proto/*.proto` with protox (pure Rust; no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/corral.proto");
    println!("cargo:rerun-if-changed=proto/peer.proto");
    let descriptors = protox::compile(["corral.proto", "peer.proto"], ["proto"])?;
    prost_build::Config::new()
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
