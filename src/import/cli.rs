//! `vpc-lattice-operator import`'s command line and the one place it touches the world: the AWS
//! identity, the rate limiter, standard output and `--out`'s files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fetch::{ImportError, Scope, TagSource, fetch};
use super::plan::{Identifiers, Settings, plan};
use super::render::{self, Format};
use crate::api::{DeletionPolicy, IMPORTED_FROM_ANNOTATION};
use crate::lattice::LatticeApi;
use crate::lattice::aws::Aws;
use crate::limiter::{Admitted, Caller, Limiter, Priority};

/// Write manifests for the associations that already exist in AWS, so that the operator adopts them
/// (without a Create) once applied.
///
/// Lists the associations of each --service-network and --service (an ID, an ARN or a name),
/// reads their tags, and prints one ServiceNetworkServiceAssociation per association: named
/// <service>-in-<network>, with the tags AWS has (but aws: keys and the ownership tags),
/// adoptionPolicy: Always and deletionPolicy: Retain. Skipped, each with its reason in the header
/// comment: associations not ACTIVE, the AWS Gateway API Controller's, those owned by an object of
/// this cluster or of another one, and any that would collide on name. Makes read calls only.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("scope").required(true).multiple(true).args(["service_networks", "services"])))]
pub struct ImportArgs {
    /// A service network whose associations to import: its ID, ARN or name (repeatable).
    #[arg(long = "service-network", value_name = "ID|ARN|NAME")]
    pub service_networks: Vec<String>,
    /// A service whose associations to import: its ID, ARN or name (repeatable).
    #[arg(long = "service", value_name = "ID|ARN|NAME")]
    pub services: Vec<String>,
    /// The AWS region to import from (default: the AWS chain's, e.g. AWS_REGION); written as
    /// spec.region.
    #[arg(long, value_parser = parse_region)]
    pub region: Option<String>,
    /// An IAM role to assume for the calls (default: the AWS chain's identity).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy demands.
    #[arg(long, requires = "role_arn")]
    pub external_id: Option<String>,
    /// The operator's --cluster-name: associations whose ownership tags name this cluster are
    /// skipped (their objects exist).
    #[arg(long, env = "VPC_LATTICE_OPERATOR_CLUSTER_NAME", value_parser = crate::api::parse_cluster_name)]
    pub cluster_name: String,
    /// metadata.namespace of every object (default: none, for `kubectl apply -n`).
    #[arg(long, value_parser = parse_namespace)]
    pub namespace: Option<String>,
    /// How the manifests name the service and the service network (IDs only where the service, the
    /// network and the association are all of one account; ARNs otherwise).
    #[arg(long, value_enum, default_value = "arn")]
    pub identifiers: Identifiers,
    /// spec.deletionPolicy of every object: Retain (default: deleting an object never deletes an
    /// association) or Delete.
    #[arg(long, default_value = "Retain", value_parser = parse_deletion_policy)]
    pub deletion_policy: DeletionPolicy,
    /// Also import CREATE_FAILED and DELETE_FAILED associations (the operator then deletes and
    /// recreates them).
    #[arg(long)]
    pub include_failed: bool,
    /// Also import the AWS Gateway API Controller's associations, as managementPolicy: ObserveOnly.
    #[arg(long)]
    pub include_gateway_managed: bool,
    /// Also import associations whose ownership tags name another cluster (the operator then takes
    /// them over).
    #[arg(long)]
    pub include_other_clusters: bool,
    /// Output format on standard output.
    #[arg(short, long, value_enum, default_value = "yaml")]
    pub output: Format,
    /// Write one YAML file per object and a kustomization.yaml into this directory instead (files an
    /// earlier import wrote there for associations no longer written are removed).
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub out: Option<PathBuf>,
    /// Print the plan as a table (what would be written, what skipped and why) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How the tags are read: tagging-api (GetResources, 100 associations a call) or
    /// list-tags-for-resource (one call an association).
    #[arg(long, value_enum, default_value = "tagging-api")]
    pub tags_from: TagSource,
    /// Most AWS calls per second (the operator's own calls in the account share AWS's quota).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub aws_max_rps: u32,
}

/// Removes the files of `dir` an earlier import wrote (YAML naming [`IMPORTED_FROM_ANNOTATION`])
/// that this one did not: their associations are gone or skipped now, so that the folder, like
/// standard output, holds exactly this run's objects. Other files are left alone.
fn prune(dir: &Path, written: &[(String, String)]) -> Result<(), ImportError> {
    let fail = |e: std::io::Error| ImportError(format!("could not read {}: {e}", dir.display()));
    let marker = format!("{IMPORTED_FROM_ANNOTATION}:");
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with(".yaml") || written.iter().any(|(file, _)| *file == name) {
            continue;
        }
        if std::fs::read_to_string(&path).is_ok_and(|text| text.contains(&marker)) {
            std::fs::remove_file(&path)
                .map_err(|e| ImportError(format!("could not remove {}: {e}", path.display())))?;
        }
    }
    Ok(())
}

/// A region as `spec.region` takes it (`us-east-1`: two letters, words, one or two digits).
fn parse_region(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(letters)
        && parts
            .last()
            .is_some_and(|d| (1..=2).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    match ok {
        true => Ok(s.to_string()),
        false => Err("an AWS region, e.g. us-east-1".into()),
    }
}

/// A namespace name (a DNS-1123 label).
fn parse_namespace(s: &str) -> Result<String, String> {
    match super::naming::is_dns_label(s) {
        true => Ok(s.to_string()),
        false => Err("a namespace name: lower-case letters, digits and '-', at most 63".into()),
    }
}

fn parse_deletion_policy(s: &str) -> Result<DeletionPolicy, String> {
    match s {
        "Retain" => Ok(DeletionPolicy::Retain),
        "Delete" => Ok(DeletionPolicy::Delete),
        _ => Err("Retain or Delete".into()),
    }
}

/// Runs the import; what it wrote or why it could not.
pub async fn run(args: ImportArgs) -> Result<(), ImportError> {
    let aws = Aws::load().await;
    let region =
        args.region.clone().or_else(|| aws.region()).ok_or_else(|| {
            ImportError("no AWS region: pass --region, or set AWS_REGION (or a profile's region)".into())
        })?;
    let region = parse_region(&region)
        .map_err(|e| ImportError(format!("the AWS region {region:?} (from the AWS chain) is not {e}")))?;
    let lattice = match &args.role_arn {
        Some(arn) => {
            aws.assuming(arn, args.external_id.as_deref(), "the import", Some(&region))
                .await
        }
        None => aws.own(Some(&region)),
    };
    let identity = "import";
    let limiter = Arc::new(Limiter::new(args.aws_max_rps));
    let calls = limiter.calls(Caller {
        namespace: identity.into(),
        priority: Priority::Change,
    });
    let api: Arc<dyn LatticeApi> = Admitted::wrap(Arc::new(lattice), identity, calls);
    let scope = Scope {
        service_networks: args.service_networks.clone(),
        services: args.services.clone(),
    };
    let found = fetch(api.as_ref(), &scope, args.tags_from).await?;
    let settings = Settings {
        namespace: args.namespace.clone(),
        region: region.clone(),
        cluster: args.cluster_name.clone(),
        identifiers: args.identifiers,
        deletion: args.deletion_policy,
        include_failed: args.include_failed,
        include_gateway_managed: args.include_gateway_managed,
        include_other_clusters: args.include_other_clusters,
    };
    let plan = plan(found, &settings);
    let source = format!("{} in {region}", scope.describe());
    let (written, skipped) = (plan.manifests.len(), plan.skipped.len());
    if args.dry_run {
        print!("{}", render::table(&plan));
        eprintln!("import (dry run): {written} to write, {skipped} skipped; nothing written");
        return Ok(());
    }
    let to = match (&args.out, args.output) {
        (Some(dir), _) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| ImportError(format!("could not create {}: {e}", dir.display())))?;
            let files = render::files(&plan, &source);
            for (file, text) in &files {
                let path = dir.join(file);
                std::fs::write(&path, text)
                    .map_err(|e| ImportError(format!("could not write {}: {e}", path.display())))?;
            }
            prune(dir, &files)?;
            dir.display().to_string()
        }
        (None, Format::Yaml) => {
            print!("{}", render::yaml_stream(&plan, &source));
            "standard output".into()
        }
        (None, Format::Json) => {
            print!("{}", render::json_list(&plan));
            eprint!("{}", render::header(&plan, &source));
            "standard output".into()
        }
    };
    eprintln!("import: {written} manifests written to {to}, {skipped} associations skipped (reasons in the header)");
    Ok(())
}
