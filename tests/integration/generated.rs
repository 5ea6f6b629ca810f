//! Generated artefacts must equal what the code generates: crds/ (and the chart's copy, once there).

use vpc_lattice_operator::api::crd_yaml;

use crate::support::cluster::REPO;

const CRD_FILE: &str = "crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml";

#[test]
fn crds_directory_matches_the_code() {
    let on_disk = std::fs::read_to_string(format!("{REPO}/{CRD_FILE}")).expect("read crds/");
    assert!(
        on_disk == crd_yaml(),
        "{CRD_FILE} differs from the generated CRD: run `make crds` and commit the result"
    );
}
