package validation

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

// volumeSourceCheck validates one volume source kind; set reports whether
// the kind is present.
type volumeSourceCheck struct {
	name  string
	set   func(*corev1.VolumeSource) bool
	check func(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList
}

// volumeSourceChecks lists every volume source in upstream's order. Sources
// without a check here are only counted.
var volumeSourceChecks = []volumeSourceCheck{
	{"emptyDir", func(s *corev1.VolumeSource) bool { return s.EmptyDir != nil }, validateEmptyDir},
	{"hostPath", func(s *corev1.VolumeSource) bool { return s.HostPath != nil }, validateHostPath},
	{"gitRepo", func(s *corev1.VolumeSource) bool { return s.GitRepo != nil }, validateGitRepo},
	{"gcePersistentDisk", func(s *corev1.VolumeSource) bool { return s.GCEPersistentDisk != nil }, nil},
	{"awsElasticBlockStore", func(s *corev1.VolumeSource) bool { return s.AWSElasticBlockStore != nil }, nil},
	{"secret", func(s *corev1.VolumeSource) bool { return s.Secret != nil }, validateSecretVolume},
	{"nfs", func(s *corev1.VolumeSource) bool { return s.NFS != nil }, validateNFS},
	{"iscsi", func(s *corev1.VolumeSource) bool { return s.ISCSI != nil }, nil},
	{"glusterfs", func(s *corev1.VolumeSource) bool { return s.Glusterfs != nil }, nil},
	{"flocker", func(s *corev1.VolumeSource) bool { return s.Flocker != nil }, nil},
	{"persistentVolumeClaim", func(s *corev1.VolumeSource) bool { return s.PersistentVolumeClaim != nil }, validatePVCVolume},
	{"rbd", func(s *corev1.VolumeSource) bool { return s.RBD != nil }, nil},
	{"cinder", func(s *corev1.VolumeSource) bool { return s.Cinder != nil }, nil},
	{"cephfs", func(s *corev1.VolumeSource) bool { return s.CephFS != nil }, nil},
	{"downwardAPI", func(s *corev1.VolumeSource) bool { return s.DownwardAPI != nil }, validateDownwardAPIVolume},
	{"fc", func(s *corev1.VolumeSource) bool { return s.FC != nil }, nil},
	{"azureFile", func(s *corev1.VolumeSource) bool { return s.AzureFile != nil }, nil},
	{"vsphereVolume", func(s *corev1.VolumeSource) bool { return s.VsphereVolume != nil }, nil},
	{"quobyte", func(s *corev1.VolumeSource) bool { return s.Quobyte != nil }, nil},
	{"azureDisk", func(s *corev1.VolumeSource) bool { return s.AzureDisk != nil }, nil},
	{"photonPersistentDisk", func(s *corev1.VolumeSource) bool { return s.PhotonPersistentDisk != nil }, nil},
	{"portworxVolume", func(s *corev1.VolumeSource) bool { return s.PortworxVolume != nil }, nil},
	{"scaleIO", func(s *corev1.VolumeSource) bool { return s.ScaleIO != nil }, nil},
	{"storageos", func(s *corev1.VolumeSource) bool { return s.StorageOS != nil }, nil},
	{"projected", func(s *corev1.VolumeSource) bool { return s.Projected != nil }, validateProjectedVolume},
	{"configMap", func(s *corev1.VolumeSource) bool { return s.ConfigMap != nil }, validateConfigMapVolume},
	{"csi", func(s *corev1.VolumeSource) bool { return s.CSI != nil }, validateCSIVolume},
	{"ephemeral", func(s *corev1.VolumeSource) bool { return s.Ephemeral != nil }, validateEphemeralVolume},
	{"image", func(s *corev1.VolumeSource) bool { return s.Image != nil }, validateImageVolume},
}

// validateVolumes validates spec.volumes and returns the valid ones by name,
// which container mounts may then refer to.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	createdPVCs := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				createdPVCs.Insert(podMeta.Name + "-" + v.Name)
			}
		}
	}
	valid := make(map[string]corev1.VolumeSource)
	names := sets.New[string]()
	for i := range volumes {
		vol := &volumes[i]
		idxPath := fldPath.Index(i)
		errs := validateVolumeSource(&vol.VolumeSource, idxPath, vol.Name, podMeta)
		if vol.Name == "" {
			errs = append(errs, field.Required(idxPath.Child("name"), ""))
		} else {
			errs = append(errs, validateDNS1123Label(vol.Name, idxPath.Child("name"))...)
		}
		if names.Has(vol.Name) {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), vol.Name))
		}
		if len(errs) == 0 {
			names.Insert(vol.Name)
			valid[vol.Name] = vol.VolumeSource
		}
		allErrs = append(allErrs, errs...)
		if vol.PersistentVolumeClaim != nil && createdPVCs.Has(vol.PersistentVolumeClaim.ClaimName) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("persistentVolumeClaim", "claimName"), vol.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return valid, allErrs
}

// validateVolumeSource requires exactly one source and validates it.
func validateVolumeSource(src *corev1.VolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta) field.ErrorList {
	var allErrs field.ErrorList
	count := 0
	for _, c := range volumeSourceChecks {
		if !c.set(src) {
			continue
		}
		if count > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(c.name), "may not specify more than 1 volume type"))
			continue
		}
		count++
		if c.check != nil {
			allErrs = append(allErrs, c.check(src, fldPath.Child(c.name))...)
		}
		if c.name == "ephemeral" {
			allErrs = append(allErrs, validateEphemeralPVCName(podMeta, volName, fldPath.Child("name"))...)
		}
	}
	if count == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

// validateEphemeralPVCName checks that "<pod>-<volume>" is a valid PVC name.
func validateEphemeralPVCName(podMeta *metav1.ObjectMeta, volName string, fldPath *field.Path) field.ErrorList {
	if podMeta == nil || podMeta.Name == "" || volName == "" {
		return nil
	}
	pvcName := podMeta.Name + "-" + volName
	var allErrs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(pvcName, false) {
		allErrs = append(allErrs, field.Invalid(fldPath, volName, fmt.Sprintf("PVC name %q: %v", pvcName, msg)))
	}
	return allErrs
}

func validateEmptyDir(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	if l := src.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
		return field.ErrorList{field.Forbidden(fldPath.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity")}
	}
	return nil
}

var supportedHostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory,
	corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket,
}

func validateHostPath(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	hp := src.HostPath
	if hp.Path == "" {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	allErrs := validatePathNoBacksteps(hp.Path, fldPath.Child("path"))
	if hp.Type != nil {
		known := false
		for _, t := range supportedHostPathTypes {
			known = known || t == *hp.Type
		}
		if !known {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), hp.Type, supportedHostPathTypes))
		}
	}
	return allErrs
}

func validateGitRepo(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if src.GitRepo.Repository == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("repository"), ""))
	}
	return append(allErrs, validateLocalDescendingPath(src.GitRepo.Directory, fldPath.Child("directory"))...)
}

func validateSecretVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	s := src.Secret
	var allErrs field.ErrorList
	if s.SecretName == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("secretName"), ""))
	}
	allErrs = append(allErrs, validateFileMode(s.DefaultMode, fldPath.Child("defaultMode"))...)
	return append(allErrs, validateKeyToPaths(s.Items, fldPath.Child("items"))...)
}

func validateConfigMapVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	c := src.ConfigMap
	var allErrs field.ErrorList
	if c.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	allErrs = append(allErrs, validateFileMode(c.DefaultMode, fldPath.Child("defaultMode"))...)
	return append(allErrs, validateKeyToPaths(c.Items, fldPath.Child("items"))...)
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i := range items {
		allErrs = append(allErrs, validateKeyToPath(&items[i], fldPath.Index(i))...)
	}
	return allErrs
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if kp.Key == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(allErrs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
}

func validateNFS(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if src.NFS.Server == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("server"), ""))
	}
	if src.NFS.Path == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	if !path.IsAbs(src.NFS.Path) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), src.NFS.Path, "must be an absolute path"))
	}
	return allErrs
}

func validatePVCVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	if src.PersistentVolumeClaim.ClaimName == "" {
		return field.ErrorList{field.Required(fldPath.Child("claimName"), "")}
	}
	return nil
}

func validateDownwardAPIVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(src.DownwardAPI.DefaultMode, fldPath.Child("defaultMode"))
	for i := range src.DownwardAPI.Items {
		allErrs = append(allErrs, validateDownwardAPIFile(&src.DownwardAPI.Items[i], fldPath)...)
	}
	return allErrs
}

// validateDownwardAPIFile checks one downward API file. Like upstream, errors
// are reported against the volume path rather than the item index.
func validateDownwardAPIFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if file.Path == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		allErrs = append(allErrs, validateObjectFieldSelector(file.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		allErrs = append(allErrs, validateResourceFieldSelector(file.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		allErrs = append(allErrs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(allErrs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
}

// validateProjectedVolume checks each projected source and that no two
// sources write the same path.
func validateProjectedVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateFileMode(src.Projected.DefaultMode, fldPath.Child("defaultMode"))
	paths := sets.New[string]()
	claimPath := func(p string, value string) {
		if p == "" {
			return
		}
		if paths.Has(p) {
			allErrs = append(allErrs, field.Invalid(fldPath, value, "conflicting duplicate paths"))
		}
		paths.Insert(p)
	}
	for i, s := range src.Projected.Sources {
		srcPath := fldPath.Child("sources").Index(i)
		count := 0
		if s.Secret != nil {
			count++
			allErrs = append(allErrs, validateProjectedKeys(s.Secret.Name, s.Secret.Items, srcPath.Child("secret"))...)
			for _, kp := range s.Secret.Items {
				claimPath(kp.Path, s.Secret.Name)
			}
		}
		if s.ConfigMap != nil {
			count++
			allErrs = append(allErrs, validateProjectedKeys(s.ConfigMap.Name, s.ConfigMap.Items, srcPath.Child("configMap"))...)
			for _, kp := range s.ConfigMap.Items {
				claimPath(kp.Path, s.ConfigMap.Name)
			}
		}
		if s.DownwardAPI != nil {
			count++
			for j := range s.DownwardAPI.Items {
				allErrs = append(allErrs, validateDownwardAPIFile(&s.DownwardAPI.Items[j], srcPath.Child("downwardAPI"))...)
				claimPath(s.DownwardAPI.Items[j].Path, s.DownwardAPI.Items[j].Path)
			}
		}
		if s.ServiceAccountToken != nil {
			count++
			allErrs = append(allErrs, validateTokenProjection(s.ServiceAccountToken, srcPath.Child("serviceAccountToken"), fldPath)...)
			claimPath(s.ServiceAccountToken.Path, s.ServiceAccountToken.Path)
		}
		if s.ClusterTrustBundle != nil {
			count++
			allErrs = append(allErrs, validateTrustBundleProjection(s.ClusterTrustBundle, srcPath.Child("clusterTrustBundle"))...)
			claimPath(s.ClusterTrustBundle.Path, s.ClusterTrustBundle.Path)
		}
		if count > 1 {
			allErrs = append(allErrs, field.Forbidden(srcPath, "may not specify more than 1 volume type per source"))
		}
	}
	return allErrs
}

func validateProjectedKeys(name string, items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	return append(allErrs, validateKeyToPaths(items, fldPath.Child("items"))...)
}

func validateTokenProjection(t *corev1.ServiceAccountTokenProjection, fldPath, volPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	exp := deref(t.ExpirationSeconds)
	if exp < 10*60 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
	}
	if exp > 1<<32 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
	}
	if t.Path == "" {
		allErrs = append(allErrs, field.Required(volPath.Child("path"), ""))
	}
	return allErrs
}

func validateTrustBundleProjection(b *corev1.ClusterTrustBundleProjection, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if b.Name != nil && b.SignerName != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), *b.Name, "only one of name and signerName may be used"))
	}
	if b.Name == nil && b.SignerName == nil {
		allErrs = append(allErrs, field.Required(fldPath, "either name or signerName must be specified"))
	}
	if b.Path == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	return append(allErrs, validateLocalNonReservedPath(b.Path, fldPath.Child("path"))...)
}

func validateCSIVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	if src.CSI.Driver == "" {
		return field.ErrorList{field.Required(fldPath.Child("driver"), "")}
	}
	return validateDNS1123Subdomain(src.CSI.Driver, fldPath.Child("driver"))
}

func validateImageVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	if src.Image.Reference == "" {
		return field.ErrorList{field.Required(fldPath.Child("reference"), "")}
	}
	return validatePullPolicy(src.Image.PullPolicy, fldPath.Child("pullPolicy"))
}

// validateEphemeralVolume checks a generic ephemeral volume's claim template.
func validateEphemeralVolume(src *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	tmpl := src.Ephemeral.VolumeClaimTemplate
	if tmpl == nil {
		return field.ErrorList{field.Required(fldPath.Child("volumeClaimTemplate"), "")}
	}
	tmplPath := fldPath.Child("volumeClaimTemplate")
	allErrs := validateTemplateObjectMeta(&tmpl.ObjectMeta, tmplPath.Child("metadata"))
	return append(allErrs, validatePVCSpec(&tmpl.Spec, tmplPath.Child("spec"))...)
}

// validateTemplateObjectMeta allows only labels and annotations on the
// metadata of an embedded claim template.
func validateTemplateObjectMeta(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))
	allErrs = append(allErrs, validateLabels(meta.Labels, fldPath.Child("labels"))...)
	rest := meta.DeepCopy()
	rest.Labels, rest.Annotations = nil, nil
	if rest.Name != "" || rest.GenerateName != "" || rest.Namespace != "" || rest.UID != "" ||
		rest.ResourceVersion != "" || len(rest.Finalizers) > 0 || len(rest.OwnerReferences) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath, "cannot be set for an ephemeral volume"))
	}
	return allErrs
}
