use kube::CustomResourceExt;
fn main() {
    print!(
        "{}",
        serde_yaml::to_string(&vpc_lattice_operator::api::ServiceNetworkServiceAssociation::crd())
            .unwrap()
    );
}
