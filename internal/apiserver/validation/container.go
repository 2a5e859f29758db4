package validation

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerContext carries the pod-level facts container validation needs.
type containerContext struct {
	volumes     map[string]corev1.VolumeSource // valid volumes by name
	claimNames  sets.Set[string]               // pod resource claim names
	gracePeriod *int64                         // pod terminationGracePeriodSeconds
	hostUsers   bool                           // pod runs in the host user namespace
}

var supportedPortProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}

// validateContainers validates spec.containers: at least one, unique names,
// and the checks every regular container gets.
func validateContainers(containers []corev1.Container, cc containerContext, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(containers) == 0 {
		allErrs = append(allErrs, field.Required(fldPath, ""))
	}
	names := sets.New[string]()
	for i := range containers {
		ctr := &containers[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, cc, idxPath)...)
		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), ctr.Name))
		} else {
			names.Insert(ctr.Name)
		}
		allErrs = append(allErrs, validateHooksAndProbes(ctr, cc.gracePeriod, idxPath)...)
		if ctr.RestartPolicy != nil {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	allErrs = append(allErrs, checkHostPortConflicts(containers, fldPath)...)
	return allErrs
}

// validateInitContainers validates spec.initContainers. Names must not clash
// with regular containers; only sidecars (restartPolicy Always) may carry
// probes and lifecycle hooks.
func validateInitContainers(inits, regular []corev1.Container, cc containerContext, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i := range regular {
		names.Insert(regular[i].Name)
	}
	for i := range inits {
		ctr := &inits[i]
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, validateContainerCommon(ctr, cc, idxPath)...)
		sidecar := false
		if ctr.RestartPolicy != nil {
			allErrs = append(allErrs, validateInitRestartPolicy(*ctr.RestartPolicy, idxPath.Child("restartPolicy"))...)
			sidecar = *ctr.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
		if names.Has(ctr.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), ctr.Name))
		} else if ctr.Name != "" {
			names.Insert(ctr.Name)
		}
		// Init containers run one at a time, so host ports only clash within one.
		allErrs = append(allErrs, checkHostPortConflicts([]corev1.Container{*ctr}, fldPath)...)
		if sidecar {
			allErrs = append(allErrs, validateHooksAndProbes(ctr, cc.gracePeriod, idxPath)...)
		} else {
			allErrs = append(allErrs, forbidInitOnlyFields(ctr, idxPath)...)
		}
		if len(ctr.ResizePolicy) > 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("resizePolicy"), ctr.ResizePolicy, "must not be set for init containers"))
		}
	}
	return allErrs
}

// validateHooksAndProbes validates a container's lifecycle hooks and
// probes, building their paths only for those that are set.
func validateHooksAndProbes(ctr *corev1.Container, grace *int64, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ctr.Lifecycle != nil {
		allErrs = append(allErrs, validateLifecycle(ctr.Lifecycle, grace, fldPath.Child("lifecycle"))...)
	}
	if ctr.LivenessProbe != nil {
		allErrs = append(allErrs, validateLivenessProbe(ctr.LivenessProbe, grace, fldPath.Child("livenessProbe"))...)
	}
	if ctr.ReadinessProbe != nil {
		allErrs = append(allErrs, validateReadinessProbe(ctr.ReadinessProbe, grace, fldPath.Child("readinessProbe"))...)
	}
	if ctr.StartupProbe != nil {
		allErrs = append(allErrs, validateStartupProbe(ctr.StartupProbe, grace, fldPath.Child("startupProbe"))...)
	}
	return allErrs
}

// forbidInitOnlyFields rejects hooks and probes on plain init containers.
func forbidInitOnlyFields(ctr *corev1.Container, idxPath *field.Path) field.ErrorList {
	const notSidecar = "may not be set for init containers without restartPolicy=Always"
	var allErrs field.ErrorList
	if ctr.Lifecycle != nil {
		allErrs = append(allErrs, field.Forbidden(idxPath.Child("lifecycle"), notSidecar))
	}
	if ctr.LivenessProbe != nil {
		allErrs = append(allErrs, field.Forbidden(idxPath.Child("livenessProbe"), notSidecar))
	}
	if ctr.ReadinessProbe != nil {
		allErrs = append(allErrs, field.Forbidden(idxPath.Child("readinessProbe"), "may not be set for init containers"))
	}
	if ctr.StartupProbe != nil {
		allErrs = append(allErrs, field.Forbidden(idxPath.Child("startupProbe"), notSidecar))
	}
	return allErrs
}

func validateInitRestartPolicy(policy corev1.ContainerRestartPolicy, fldPath *field.Path) field.ErrorList {
	if policy == corev1.ContainerRestartPolicyAlways {
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways})}
}

// validateEphemeralContainers validates debug containers: unique names, a
// target that exists, and none of the fields that imply a workload role.
func validateEphemeralContainers(ephemeral []corev1.EphemeralContainer, regular, inits []corev1.Container, cc containerContext, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	others := sets.New[string]()
	for i := range regular {
		others.Insert(regular[i].Name)
	}
	for i := range inits {
		others.Insert(inits[i].Name)
	}
	seen := sets.New[string]()
	for i := range ephemeral {
		ec := &ephemeral[i]
		idxPath := fldPath.Index(i)
		ctr := corev1.Container(ec.EphemeralContainerCommon)
		allErrs = append(allErrs, validateContainerCommon(&ctr, cc, idxPath)...)
		allErrs = append(allErrs, forbidEphemeralFields(&ctr, idxPath)...)
		if others.Has(ec.Name) || seen.Has(ec.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), ec.Name))
		}
		seen.Insert(ec.Name)
		if ec.TargetContainerName != "" && !others.Has(ec.TargetContainerName) {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("targetContainerName"), ec.TargetContainerName))
		}
	}
	return allErrs
}

// forbidEphemeralFields rejects ports, probes, hooks, resources and sub-path
// mounts on ephemeral containers.
func forbidEphemeralFields(ctr *corev1.Container, idxPath *field.Path) field.ErrorList {
	const msg = "cannot be set for an Ephemeral Container"
	var allErrs field.ErrorList
	set := map[string]bool{
		"ports":          len(ctr.Ports) > 0,
		"livenessProbe":  ctr.LivenessProbe != nil,
		"readinessProbe": ctr.ReadinessProbe != nil,
		"startupProbe":   ctr.StartupProbe != nil,
		"lifecycle":      ctr.Lifecycle != nil,
		"resources":      len(ctr.Resources.Limits)+len(ctr.Resources.Requests)+len(ctr.Resources.Claims) > 0,
		"resizePolicy":   len(ctr.ResizePolicy) > 0,
		"restartPolicy":  ctr.RestartPolicy != nil,
	}
	for _, name := range []string{"ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources", "resizePolicy", "restartPolicy"} {
		if set[name] {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child(name), msg))
		}
	}
	for i, vm := range ctr.VolumeMounts {
		if vm.SubPath != "" {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child("volumeMounts").Index(i).Child("subPath"), msg))
		}
		if vm.SubPathExpr != "" {
			allErrs = append(allErrs, field.Forbidden(idxPath.Child("volumeMounts").Index(i).Child("subPathExpr"), msg))
		}
	}
	return allErrs
}

// validateContainerCommon holds the checks shared by every kind of container.
func validateContainerCommon(ctr *corev1.Container, cc containerContext, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ctr.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else {
		allErrs = append(allErrs, validateDNS1123Label(ctr.Name, fldPath.Child("name"))...)
	}
	if ctr.Image == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("image"), ""))
	}
	allErrs = append(allErrs, validateTerminationMessagePolicy(ctr.TerminationMessagePolicy, fldPath.Child("terminationMessagePolicy"))...)
	devices := volumeDeviceMap(ctr.VolumeDevices)
	// Lists and pointers with nothing to check when unset are skipped
	// then, without building their paths.
	if len(ctr.Ports) > 0 {
		allErrs = append(allErrs, validateContainerPorts(ctr.Ports, fldPath.Child("ports"))...)
	}
	if len(ctr.Env) > 0 {
		allErrs = append(allErrs, validateEnv(ctr.Env, fldPath.Child("env"))...)
	}
	if len(ctr.EnvFrom) > 0 {
		allErrs = append(allErrs, validateEnvFrom(ctr.EnvFrom, fldPath.Child("envFrom"))...)
	}
	allErrs = append(allErrs, validateVolumeMounts(ctr.VolumeMounts, devices, cc.volumes, ctr, fldPath.Child("volumeMounts"))...)
	if len(ctr.VolumeDevices) > 0 {
		allErrs = append(allErrs, validateVolumeDevices(ctr.VolumeDevices, ctr.VolumeMounts, cc.volumes, fldPath.Child("volumeDevices"))...)
	}
	allErrs = append(allErrs, validatePullPolicy(ctr.ImagePullPolicy, fldPath.Child("imagePullPolicy"))...)
	allErrs = append(allErrs, validateResourceRequirements(&ctr.Resources, cc.claimNames, fldPath.Child("resources"))...)
	if len(ctr.ResizePolicy) > 0 {
		allErrs = append(allErrs, validateResizePolicy(ctr.ResizePolicy, fldPath.Child("resizePolicy"))...)
	}
	if ctr.SecurityContext != nil {
		allErrs = append(allErrs, validateSecurityContext(ctr.SecurityContext, cc.hostUsers, fldPath.Child("securityContext"))...)
	}
	return allErrs
}

func validateTerminationMessagePolicy(policy corev1.TerminationMessagePolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.TerminationMessagePolicy{
			corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError})}
	}
}

func validatePullPolicy(policy corev1.PullPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever})}
	}
}

// validateContainerPorts checks names, numbers and protocols of container ports.
func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		idxPath := fldPath.Index(i)
		if port.Name != "" {
			if msgs := utilvalidation.IsValidPortName(port.Name); len(msgs) != 0 {
				allErrs = append(allErrs, invalidEach(idxPath.Child("name"), port.Name, msgs)...)
			} else if names.Has(port.Name) {
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			allErrs = append(allErrs, field.Required(idxPath.Child("containerPort"), ""))
		} else {
			allErrs = append(allErrs, invalidEach(idxPath.Child("containerPort"), port.ContainerPort, utilvalidation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			allErrs = append(allErrs, invalidEach(idxPath.Child("hostPort"), port.HostPort, utilvalidation.IsValidPortNum(int(port.HostPort)))...)
		}
		allErrs = append(allErrs, validateProtocol(port.Protocol, idxPath.Child("protocol"))...)
	}
	return allErrs
}

func validateProtocol(protocol corev1.Protocol, fldPath *field.Path) field.ErrorList {
	switch protocol {
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	default:
		return field.ErrorList{field.NotSupported(fldPath, protocol, supportedPortProtocols)}
	}
}

// checkHostPortConflicts reports the same protocol/hostIP/hostPort used twice.
func checkHostPortConflicts(containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for ci := range containers {
		for pi, port := range containers[ci].Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen.Has(key) {
				allErrs = append(allErrs, field.Duplicate(fldPath.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen.Insert(key)
		}
	}
	return allErrs
}

// validateVolumeMounts checks that mounts name existing volumes, use unique
// paths and safe sub-paths.
func validateVolumeMounts(mounts []corev1.VolumeMount, devices map[string]string, volumes map[string]corev1.VolumeSource, ctr *corev1.Container, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	mountPaths := sets.New[string]()
	for i, mnt := range mounts {
		idxPath := fldPath.Index(i)
		if mnt.Name == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		if _, ok := volumes[mnt.Name]; !ok {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), mnt.Name))
		}
		if mnt.MountPath == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("mountPath"), ""))
		}
		if mountPaths.Has(mnt.MountPath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must be unique"))
		}
		mountPaths.Insert(mnt.MountPath)
		if _, ok := devices[mnt.Name]; ok {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), mnt.Name, "must not already exist in volumeDevices"))
		}
		for _, devicePath := range devices {
			if devicePath == mnt.MountPath {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("mountPath"), mnt.MountPath, "must not already exist as a path in volumeDevices"))
			}
		}
		allErrs = append(allErrs, validateSubPaths(mnt, idxPath, fldPath)...)
		allErrs = append(allErrs, validateMountPropagation(mnt.MountPropagation, ctr, fldPath.Child("mountPropagation"))...)
		allErrs = append(allErrs, validateRecursiveReadOnly(mnt, fldPath.Child("recursiveReadOnly"))...)
	}
	return allErrs
}

// validateSubPaths checks subPath and subPathExpr. Like upstream, their
// errors are reported against the list path, not the item.
func validateSubPaths(mnt corev1.VolumeMount, idxPath, listPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if mnt.SubPath != "" {
		allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPath, listPath.Child("subPath"))...)
	}
	if mnt.SubPathExpr != "" {
		if mnt.SubPath != "" {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("subPathExpr"), mnt.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		allErrs = append(allErrs, validateLocalDescendingPath(mnt.SubPathExpr, listPath.Child("subPathExpr"))...)
	}
	return allErrs
}

func validateMountPropagation(mode *corev1.MountPropagationMode, ctr *corev1.Container, fldPath *field.Path) field.ErrorList {
	if mode == nil {
		return nil
	}
	var allErrs field.ErrorList
	supported := []corev1.MountPropagationMode{corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone}
	switch *mode {
	case corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone:
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath, *mode, supported))
	}
	privileged := ctr.SecurityContext != nil && deref(ctr.SecurityContext.Privileged)
	if *mode == corev1.MountPropagationBidirectional && !privileged {
		allErrs = append(allErrs, field.Forbidden(fldPath, "Bidirectional mount propagation is available only to privileged containers"))
	}
	return allErrs
}

func validateRecursiveReadOnly(mnt corev1.VolumeMount, fldPath *field.Path) field.ErrorList {
	if mnt.RecursiveReadOnly == nil {
		return nil
	}
	var allErrs field.ErrorList
	switch *mnt.RecursiveReadOnly {
	case corev1.RecursiveReadOnlyDisabled:
	case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
		if !mnt.ReadOnly {
			allErrs = append(allErrs, field.Forbidden(fldPath, "may only be specified when readOnly is true"))
		}
		if mnt.MountPropagation != nil && *mnt.MountPropagation != corev1.MountPropagationNone {
			allErrs = append(allErrs, field.Forbidden(fldPath, "may only be specified when mountPropagation is None or not specified"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath, *mnt.RecursiveReadOnly, []corev1.RecursiveReadOnlyMode{
			corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled}))
	}
	return allErrs
}

func volumeDeviceMap(devices []corev1.VolumeDevice) map[string]string {
	m := make(map[string]string, len(devices))
	for _, d := range devices {
		m[d.Name] = d.DevicePath
	}
	return m
}

// validateVolumeDevices checks raw block devices: they must name a PVC (or
// ephemeral) volume and not collide with mounts.
func validateVolumeDevices(devices []corev1.VolumeDevice, mounts []corev1.VolumeMount, volumes map[string]corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	mountNames, mountPaths := sets.New[string](), sets.New[string]()
	for _, m := range mounts {
		mountNames.Insert(m.Name)
		mountPaths.Insert(m.MountPath)
	}
	names, paths := sets.New[string](), sets.New[string]()
	for i, dev := range devices {
		idxPath := fldPath.Index(i)
		devName := dev.Name
		if devName == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("name"), ""))
		}
		if names.Has(devName) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), devName, "must be unique"))
		}
		if src, ok := volumes[devName]; !ok {
			allErrs = append(allErrs, field.NotFound(idxPath.Child("name"), devName))
		} else if src.PersistentVolumeClaim == nil && src.Ephemeral == nil {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), devName, "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode"))
		}
		if dev.DevicePath == "" {
			allErrs = append(allErrs, field.Required(idxPath.Child("devicePath"), ""))
		}
		if paths.Has(dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must be unique"))
		}
		if dev.DevicePath != "" && !path.IsAbs(dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must be an absolute path"))
		}
		if mountNames.Has(devName) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), devName, "must not already exist in volumeMounts"))
		}
		if mountPaths.Has(dev.DevicePath) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("devicePath"), dev.DevicePath, "must not already exist as a path in volumeMounts"))
		}
		names.Insert(devName)
		paths.Insert(dev.DevicePath)
	}
	return allErrs
}

func validateResizePolicy(policies []corev1.ContainerResizePolicy, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[corev1.ResourceName]()
	for i, p := range policies {
		idxPath := fldPath.Index(i)
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
			if seen.Has(p.ResourceName) {
				allErrs = append(allErrs, field.Duplicate(idxPath.Child("resourceName"), p.ResourceName))
			}
			seen.Insert(p.ResourceName)
		default:
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("resourceName"), p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			allErrs = append(allErrs, field.Required(idxPath.Child("restartPolicy"), ""))
		default:
			allErrs = append(allErrs, field.NotSupported(idxPath.Child("restartPolicy"), p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
	}
	return allErrs
}

// validateSecurityContext checks a container security context.
func validateSecurityContext(sc *corev1.SecurityContext, hostUsers bool, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var allErrs field.ErrorList
	if sc.RunAsUser != nil {
		allErrs = append(allErrs, invalidEach(fldPath.Child("runAsUser"), *sc.RunAsUser, utilvalidation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		allErrs = append(allErrs, invalidEach(fldPath.Child("runAsGroup"), *sc.RunAsGroup, utilvalidation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if sc.ProcMount != nil {
		allErrs = append(allErrs, validateProcMount(*sc.ProcMount, hostUsers, fldPath.Child("procMount"))...)
	}
	allErrs = append(allErrs, validateSeccompProfile(sc.SeccompProfile, fldPath.Child("seccompProfile"))...)
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if deref(sc.Privileged) {
			allErrs = append(allErrs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if string(c) == "CAP_SYS_ADMIN" {
					allErrs = append(allErrs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	allErrs = append(allErrs, validateAppArmorProfile(sc.AppArmorProfile, fldPath.Child("appArmorProfile"))...)
	return allErrs
}

func validateProcMount(mount corev1.ProcMountType, hostUsers bool, fldPath *field.Path) field.ErrorList {
	switch mount {
	case corev1.DefaultProcMount:
		return nil
	case corev1.UnmaskedProcMount:
		if hostUsers {
			return field.ErrorList{field.Invalid(fldPath, mount, "`hostUsers` must be false to use `Unmasked`")}
		}
		return nil
	default:
		return field.ErrorList{field.NotSupported(fldPath, mount, []corev1.ProcMountType{corev1.DefaultProcMount, corev1.UnmaskedProcMount})}
	}
}

// validateSeccompProfile checks a pod or container seccomp profile.
func validateSeccompProfile(sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	if sp == nil {
		return nil
	}
	var allErrs field.ErrorList
	switch sp.Type {
	case corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined:
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("type"), "type is required when seccompProfile is set"))
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), sp.Type, []corev1.SeccompProfileType{
			corev1.SeccompProfileTypeLocalhost, corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined}))
	}
	switch {
	case sp.Type == corev1.SeccompProfileTypeLocalhost && sp.LocalhostProfile == nil:
		allErrs = append(allErrs, field.Required(fldPath.Child("localhostProfile"), "must be set when seccomp type is Localhost"))
	case sp.Type == corev1.SeccompProfileTypeLocalhost:
		allErrs = append(allErrs, validateLocalDescendingPath(*sp.LocalhostProfile, fldPath.Child("localhostProfile"))...)
	case sp.LocalhostProfile != nil:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("localhostProfile"), sp, "can only be set when seccomp type is Localhost"))
	}
	return allErrs
}

// validateAppArmorProfile checks a pod or container AppArmor profile.
func validateAppArmorProfile(p *corev1.AppArmorProfile, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	const mustSet = "must be set when AppArmor type is Localhost"
	switch p.Type {
	case corev1.AppArmorProfileTypeLocalhost:
		if p.LocalhostProfile == nil || *p.LocalhostProfile == "" {
			return field.ErrorList{field.Required(fldPath.Child("localhostProfile"), mustSet)}
		}
		if strings.TrimSpace(*p.LocalhostProfile) != *p.LocalhostProfile {
			return field.ErrorList{field.Invalid(fldPath.Child("localhostProfile"), *p.LocalhostProfile, "must not be padded with whitespace")}
		}
		if len(*p.LocalhostProfile) > 4095 {
			return field.ErrorList{field.TooLong(fldPath.Child("localhostProfile"), "", 4095)}
		}
	case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined:
		if p.LocalhostProfile != nil {
			return field.ErrorList{field.Invalid(fldPath.Child("localhostProfile"), p.LocalhostProfile, "can only be set when AppArmor type is Localhost")}
		}
	case "":
		return field.ErrorList{field.Required(fldPath.Child("type"), "type is required when appArmorProfile is set")}
	default:
		return field.ErrorList{field.NotSupported(fldPath.Child("type"), p.Type, []corev1.AppArmorProfileType{
			corev1.AppArmorProfileTypeLocalhost, corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeUnconfined})}
	}
	return nil
}

// validateLocalDescendingPath requires a relative path that never climbs out
// of its base with "..".
func validateLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if path.IsAbs(target) {
		allErrs = append(allErrs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(allErrs, validatePathNoBacksteps(target, fldPath)...)
}

func validatePathNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(strings.ReplaceAll(target, "\\", "/"), "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath is validateLocalDescendingPath that also
// rejects names starting with "..", which the atomic writer reserves.
func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	allErrs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		allErrs = append(allErrs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return allErrs
}

// validateSecretOrConfigMapName checks a reference to a ConfigMap or Secret.
func validateSecretOrConfigMapName(name string, fldPath *field.Path) field.ErrorList {
	return validateNameWith(apimachineryvalidation.NameIsDNSSubdomain, name, fldPath)
}
