package cri

// Labels and annotations the agent puts on every sandbox and container it
// creates, with the names the kubelet uses, so tools reading CRI (ctr,
// crictl, metrics) recognise them and the agent can rebuild its view of the
// node from the runtime alone after a restart.
const (
	// Sandbox and container labels.
	LabelPodName      = "io.kubernetes.pod.name"
	LabelPodNamespace = "io.kubernetes.pod.namespace"
	LabelPodUID       = "io.kubernetes.pod.uid"
	// Container labels.
	LabelContainerName = "io.kubernetes.container.name"
	// Container annotations.
	AnnotationRestartCount             = "io.kubernetes.container.restartCount"
	AnnotationTerminationMessagePath   = "io.kubernetes.container.terminationMessagePath"
	AnnotationTerminationMessagePolicy = "io.kubernetes.container.terminationMessagePolicy"
	// AnnotationContainerHash is a hash of the container's spec; a change
	// (an updated image on a pod) makes the worker replace the container.
	AnnotationContainerHash = "io.kubernetes.container.hash"
	// ContainerIDPrefix prefixes CRI IDs in ContainerStatus.containerID.
	ContainerIDPrefix = "containerd://"
)
