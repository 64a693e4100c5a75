//! The entry point Trunk builds: everything lives in the library.

fn main() {
    till::start();
}
