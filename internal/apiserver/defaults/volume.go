package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

const (
	defaultFileMode             = int32(0644) // 420
	defaultTokenExpirationSecs  = int64(3600)
	defaultISCSIInterface       = "default"
	defaultRBDPool              = "rbd"
	defaultRBDUser              = "admin"
	defaultRBDKeyring           = "/etc/ceph/keyring"
	defaultScaleIOStorageMode   = "ThinProvisioned"
	defaultScaleIOFSType        = "xfs"
	defaultAzureDiskFSType      = "ext4"
	defaultAzureDiskCachingMode = corev1.AzureDataDiskCachingReadWrite
)

// volume fills volume source defaults; a volume with no source becomes an
// emptyDir.
func volume(v *corev1.Volume) {
	src := &v.VolumeSource
	if isEmptySource(src) {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if s := src.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = ptrTo(defaultFileMode)
	}
	if s := src.ConfigMap; s != nil && s.DefaultMode == nil {
		s.DefaultMode = ptrTo(defaultFileMode)
	}
	if s := src.DownwardAPI; s != nil {
		if s.DefaultMode == nil {
			s.DefaultMode = ptrTo(defaultFileMode)
		}
		downwardAPIFiles(s.Items)
	}
	if s := src.Projected; s != nil {
		projected(s)
	}
	if s := src.HostPath; s != nil && s.Type == nil {
		s.Type = ptrTo(corev1.HostPathUnset)
	}
	if s := src.Ephemeral; s != nil && s.VolumeClaimTemplate != nil {
		persistentVolumeClaimSpec(&s.VolumeClaimTemplate.Spec)
	}
	if s := src.Image; s != nil && s.PullPolicy == "" {
		s.PullPolicy = pullPolicyFor(s.Reference)
	}
	legacyVolumeSources(src)
}

// isEmptySource reports a volume source with no kind set.
func isEmptySource(src *corev1.VolumeSource) bool {
	var empty corev1.VolumeSource
	return *src == empty
}

func projected(p *corev1.ProjectedVolumeSource) {
	if p.DefaultMode == nil {
		p.DefaultMode = ptrTo(defaultFileMode)
	}
	for i := range p.Sources {
		s := &p.Sources[i]
		if t := s.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
			t.ExpirationSeconds = ptrTo(defaultTokenExpirationSecs)
		}
		if s.DownwardAPI != nil {
			downwardAPIFiles(s.DownwardAPI.Items)
		}
	}
}

func downwardAPIFiles(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		fieldRef(items[i].FieldRef)
	}
}

// legacyVolumeSources fills the defaults of the in-tree storage plugins.
func legacyVolumeSources(src *corev1.VolumeSource) {
	if s := src.ISCSI; s != nil && s.ISCSIInterface == "" {
		s.ISCSIInterface = defaultISCSIInterface
	}
	if s := src.RBD; s != nil {
		setIfEmpty(&s.RBDPool, defaultRBDPool)
		setIfEmpty(&s.RadosUser, defaultRBDUser)
		setIfEmpty(&s.Keyring, defaultRBDKeyring)
	}
	if s := src.ScaleIO; s != nil {
		setIfEmpty(&s.StorageMode, defaultScaleIOStorageMode)
		setIfEmpty(&s.FSType, defaultScaleIOFSType)
	}
	if s := src.AzureDisk; s != nil {
		if s.CachingMode == nil {
			s.CachingMode = ptrTo(defaultAzureDiskCachingMode)
		}
		if s.Kind == nil {
			s.Kind = ptrTo(corev1.AzureSharedBlobDisk)
		}
		if s.FSType == nil {
			s.FSType = ptrTo(defaultAzureDiskFSType)
		}
		if s.ReadOnly == nil {
			s.ReadOnly = ptrTo(false)
		}
	}
}

func setIfEmpty(s *string, v string) {
	if *s == "" {
		*s = v
	}
}
