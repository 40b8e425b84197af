//! The binary as Lambda starts it. Having an integration test also makes cargo build
//! the binary itself, which crates/lambda-emulator's tests run.

#[test]
fn without_its_configuration_the_binary_stops_before_serving_and_names_what_is_missing() {
    let mut binary = std::process::Command::new(env!("CARGO_BIN_EXE_airlock-api"));
    let stderr = binary.env_clear().output().expect("the binary runs").stderr;
    assert!(String::from_utf8_lossy(&stderr).contains("AIRLOCK_TABLE"));
}
