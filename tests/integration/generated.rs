//! Generated artefacts must equal what the code generates: crds/ and the Helm chart's copy of it
//! (files/crds/, which its template renders).

use vpc_lattice_operator::api::crd_yaml;

use crate::support::cluster::REPO;

const CRD_FILE: &str = "crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml";
const CHART_CRDS: &str = "charts/vpc-lattice-operator/files/crds";

#[test]
fn crds_directory_matches_the_code() {
    let on_disk = std::fs::read_to_string(format!("{REPO}/{CRD_FILE}")).expect("read crds/");
    assert!(
        on_disk == crd_yaml(),
        "{CRD_FILE} differs from the generated CRD: run `make crds` and commit the result"
    );
}

/// The file names in a directory, sorted.
fn files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{REPO}/{dir}"))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn chart_crds_are_an_exact_copy_of_crds() {
    assert_eq!(
        files(CHART_CRDS),
        files("crds"),
        "{CHART_CRDS}/ holds exactly the files of crds/: run `make crds chart-crds`"
    );
    for name in files("crds") {
        let chart = std::fs::read_to_string(format!("{REPO}/{CHART_CRDS}/{name}")).unwrap();
        let repo = std::fs::read_to_string(format!("{REPO}/crds/{name}")).unwrap();
        assert!(
            chart == repo,
            "{CHART_CRDS}/{name} differs from crds/{name}: run `make crds chart-crds`"
        );
    }
    let chart = std::fs::read_to_string(format!("{REPO}/{CHART_CRDS}/{}", CRD_FILE.trim_start_matches("crds/")))
        .expect("the chart ships the CRD");
    assert!(chart == crd_yaml(), "the chart's CRD differs from the generated CRD");
}
