package core

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry/registrytest"
)

// tableCase is one object printed through its resource's table.
type tableCase = registrytest.Case

func runTableCases(t *testing.T, tests []tableCase) {
	t.Helper()
	registrytest.RunCases(t, now, tests)
}

func TestNodeTable(t *testing.T) {
	cols := []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}
	wide := []string{"INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"}
	ready := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(3 * time.Hour), Labels: map[string]string{
			"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "control-plane", "node-role.kubernetes.io/worker": "",
		}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.32.3+skiff", OSImage: "Debian GNU/Linux 13 (trixie)",
				KernelVersion: "6.12.0", ContainerRuntimeVersion: "containerd://2.0.2"},
		},
	}
	runTableCases(t, []tableCase{
		{
			Name: "ready, cordoned, roles deduplicated and sorted", Res: Nodes(), Obj: ready, WantColumns: cols, WantWide: wide,
			WantCells: []interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,worker", "3h", "v1.32.3+skiff",
				"192.168.1.10", "<none>", "Debian GNU/Linux 13 (trixie)", "6.12.0", "containerd://2.0.2"},
		},
		{
			Name: "just registered", Res: Nodes(), WantColumns: cols, WantWide: wide,
			Obj:       &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2", CreationTimestamp: ago(10 * time.Second)}},
			WantCells: []interface{}{"n2", "Unknown", "<none>", "10s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			Name: "not ready", Res: Nodes(), WantColumns: cols, WantWide: wide,
			Obj: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3", CreationTimestamp: ago(2 * 24 * time.Hour)},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}},
			WantCells: []interface{}{"n3", "NotReady", "<none>", "2d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	})
}

func service(name string, edit func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: meta(name), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}}
	edit(s)
	return s
}

func TestServiceTable(t *testing.T) {
	cols := []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}
	wide := []string{"SELECTOR"}
	tcp := func(port, nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Port: port, NodePort: nodePort, Protocol: corev1.ProtocolTCP}
	}
	runTableCases(t, []tableCase{
		{
			Name: "cluster IP", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("web", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
				s.Spec.Ports = []corev1.ServicePort{tcp(80, 0), {Port: 53, Protocol: corev1.ProtocolUDP}}
				s.Spec.Selector = map[string]string{"tier": "web", "app": "shop"}
			}),
			WantCells: []interface{}{"web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP,53/UDP", "5m", "app=shop,tier=web"},
		},
		{
			Name: "headless without ports", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("db", func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
			}),
			WantCells: []interface{}{"db", "ClusterIP", "None", "<none>", "<none>", "5m", "<none>"},
		},
		{
			Name: "node port with external IPs", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("np", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ClusterIPs = corev1.ServiceTypeNodePort, []string{"10.96.0.11"}
				s.Spec.ExternalIPs = []string{"1.2.3.4", "1.2.3.5"}
				s.Spec.Ports = []corev1.ServicePort{tcp(80, 30080)}
			}),
			WantCells: []interface{}{"np", "NodePort", "10.96.0.11", "1.2.3.4,1.2.3.5", "80:30080/TCP", "5m", "<none>"},
		},
		{
			Name: "load balancer waiting for an address", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("lb", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ClusterIPs = corev1.ServiceTypeLoadBalancer, []string{"10.96.0.12"}
				s.Spec.Ports = []corev1.ServicePort{tcp(443, 31443)}
			}),
			WantCells: []interface{}{"lb", "LoadBalancer", "10.96.0.12", "<pending>", "443:31443/TCP", "5m", "<none>"},
		},
		{
			Name: "load balancer ingress points come before external IPs", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("lb", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ClusterIPs = corev1.ServiceTypeLoadBalancer, []string{"10.96.0.12"}
				s.Spec.ExternalIPs = []string{"9.9.9.9"}
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "5.5.5.5"}, {IP: "5.5.5.5"}}
			}),
			WantCells: []interface{}{"lb", "LoadBalancer", "10.96.0.12", "5.5.5.5,lb.example.com,9.9.9.9", "<none>", "5m", "<none>"},
		},
		{
			Name: "external name", Res: Services(nil, nil), WantColumns: cols, WantWide: wide,
			Obj: service("ext", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
			}),
			WantCells: []interface{}{"ext", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"},
		},
	})
}

func TestEndpointsTable(t *testing.T) {
	cols := []string{"NAME", "ENDPOINTS", "AGE"}
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	runTableCases(t, []tableCase{
		{
			Name: "no subsets", Res: Endpoints(), WantColumns: cols,
			Obj:       &corev1.Endpoints{ObjectMeta: meta("web")},
			WantCells: []interface{}{"web", "<none>", "5m"},
		},
		{
			Name: "two addresses", Res: Endpoints(), WantColumns: cols,
			Obj: &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.1.0.4", "10.1.0.5"), Ports: []corev1.EndpointPort{{Port: 8080}},
				NotReadyAddresses: addrs("10.1.0.6"),
			}}},
			WantCells: []interface{}{"web", "10.1.0.4:8080,10.1.0.5:8080", "5m"},
		},
		{
			Name: "more than three address-port pairs are cut", Res: Endpoints(), WantColumns: cols,
			Obj: &corev1.Endpoints{ObjectMeta: meta("web"), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.1.0.4", "10.1.0.5"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}},
			}, {
				Addresses: addrs("fd00::1"), Ports: []corev1.EndpointPort{{Port: 80}},
			}}},
			WantCells: []interface{}{"web", "10.1.0.4:80,10.1.0.5:80,10.1.0.4:443 + 2 more...", "5m"},
		},
		{
			Name: "headless without ports lists IPs", Res: Endpoints(), WantColumns: cols,
			Obj: &corev1.Endpoints{ObjectMeta: meta("db"), Subsets: []corev1.EndpointSubset{{
				Addresses: addrs("10.1.0.4", "fd00::2"),
			}}},
			WantCells: []interface{}{"db", "10.1.0.4,fd00::2", "5m"},
		},
	})
}

func TestEventTable(t *testing.T) {
	cols := []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
	wide := []string{"SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"}
	runTableCases(t, []tableCase{
		{
			Name: "core/v1 event repeated", Res: Events(time.Hour), WantColumns: cols, WantWide: wide,
			Obj: &corev1.Event{
				ObjectMeta:     meta("web.1"),
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{web}"},
				Reason:         "BackOff", Type: corev1.EventTypeWarning, Message: "Back-off restarting failed container\n",
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(time.Hour), LastTimestamp: ago(30 * time.Second), Count: 12,
			},
			WantCells: []interface{}{"30s", "Warning", "BackOff", "pod/web", "spec.containers{web}", "kubelet, node-1",
				"Back-off restarting failed container", "60m", int64(12), "web.1"},
		},
		{
			Name: "events.k8s.io event with a series", Res: Events(time.Hour), WantColumns: cols, WantWide: wide,
			Obj: &corev1.Event{
				ObjectMeta:     meta("node.2"),
				InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n1"},
				Reason:         "NodeReady", Type: corev1.EventTypeNormal, Message: "ready",
				EventTime:           metav1.NewMicroTime(now.Add(-10 * time.Minute)),
				Series:              &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(now.Add(-2 * time.Minute))},
				ReportingController: "skiff-agent", ReportingInstance: "n1",
			},
			WantCells: []interface{}{"2m", "Normal", "NodeReady", "node/n1", "", "skiff-agent, n1", "ready", "10m", int64(3), "node.2"},
		},
		{
			Name: "singleton without timestamps or a name", Res: Events(time.Hour), WantColumns: cols, WantWide: wide,
			Obj: &corev1.Event{
				ObjectMeta:     meta("cluster.3"),
				InvolvedObject: corev1.ObjectReference{Kind: "Cluster"},
				Reason:         "Started", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "skiff"},
			},
			WantCells: []interface{}{"<unknown>", "Normal", "Started", "cluster", "", "skiff", "", "<unknown>", int64(1), "cluster.3"},
		},
	})
}

func TestCoreSimpleTables(t *testing.T) {
	q := func(s string) resource.Quantity { return resource.MustParse(s) }
	two := int32(2)
	fs := corev1.PersistentVolumeFilesystem
	fast := "fast"
	runTableCases(t, []tableCase{
		{
			Name: "configmap counts data and binary data", Res: ConfigMaps(), WantColumns: []string{"NAME", "DATA", "AGE"},
			Obj:       &corev1.ConfigMap{ObjectMeta: meta("cfg"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": nil}},
			WantCells: []interface{}{"cfg", int64(3), "5m"},
		},
		{
			Name: "secret", Res: Secrets(), WantColumns: []string{"NAME", "TYPE", "DATA", "AGE"},
			Obj:       &corev1.Secret{ObjectMeta: meta("tls"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			WantCells: []interface{}{"tls", "kubernetes.io/tls", int64(2), "5m"},
		},
		{
			Name: "service account", Res: ServiceAccounts(), WantColumns: []string{"NAME", "SECRETS", "AGE"},
			Obj:       &corev1.ServiceAccount{ObjectMeta: meta("default"), Secrets: []corev1.ObjectReference{{Name: "token"}}},
			WantCells: []interface{}{"default", int64(1), "5m"},
		},
		{
			Name: "namespace", Res: Namespaces(), WantColumns: []string{"NAME", "STATUS", "AGE"},
			Obj:       &corev1.Namespace{ObjectMeta: meta("team-a"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
			WantCells: []interface{}{"team-a", "Terminating", "5m"},
		},
		{
			Name: "limit range prints the default columns", Res: LimitRanges(), WantColumns: []string{"NAME", "CREATED AT"},
			Obj:       &corev1.LimitRange{ObjectMeta: meta("limits")},
			WantCells: []interface{}{"limits", "2025-03-01T11:55:00Z"},
		},
		{
			Name: "resource quota splits requests and limits, sorted", Res: ResourceQuotas(),
			WantColumns: []string{"NAME", "AGE", "REQUEST", "LIMIT"},
			Obj: &corev1.ResourceQuota{ObjectMeta: meta("quota"), Status: corev1.ResourceQuotaStatus{
				Hard: corev1.ResourceList{"pods": q("10"), "requests.cpu": q("2"), "limits.memory": q("4Gi"), "limits.cpu": q("4")},
				Used: corev1.ResourceList{"pods": q("3"), "requests.cpu": q("500m")},
			}},
			WantCells: []interface{}{"quota", "5m", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 0/4, limits.memory: 0/4Gi"},
		},
		{
			Name: "resource quota before the controller filled its status", Res: ResourceQuotas(),
			WantColumns: []string{"NAME", "AGE", "REQUEST", "LIMIT"},
			Obj: &corev1.ResourceQuota{ObjectMeta: meta("quota"),
				Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": q("10")}}},
			WantCells: []interface{}{"quota", "5m", "", ""},
		},
		{
			Name: "pod template has no age", Res: PodTemplates(), WantColumns: []string{"NAME", "CONTAINERS", "IMAGES", "POD LABELS"},
			Obj: &corev1.PodTemplate{ObjectMeta: meta("tmpl"), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}},
			}},
			WantCells: []interface{}{"tmpl", "web,log", "nginx:1.27,busybox", "app=web"},
		},
		{
			Name: "replication controller", Res: ReplicationControllers(),
			WantColumns: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}, WantWide: []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			Obj: &corev1.ReplicationController{ObjectMeta: meta("rc"),
				Spec: corev1.ReplicationControllerSpec{Replicas: &two, Selector: map[string]string{"app": "web"},
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}},
				Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}},
			WantCells: []interface{}{"rc", int64(2), int64(2), int64(1), "5m", "web", "nginx", "app=web"},
		},
		{
			Name: "bound persistent volume", Res: PersistentVolumes(),
			WantColumns: []string{"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"},
			WantWide:    []string{"VOLUMEMODE"},
			Obj: &corev1.PersistentVolume{ObjectMeta: meta("pv-1"), Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: q("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
				StorageClassName:              "standard", VolumeMode: &fs,
			}, Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			WantCells: []interface{}{"pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", "5m", "Filesystem"},
		},
		{
			Name: "persistent volume with the beta class annotation, being deleted", Res: PersistentVolumes(),
			WantColumns: []string{"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"},
			WantWide:    []string{"VOLUMEMODE"},
			Obj: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2", CreationTimestamp: ago(5 * time.Minute),
				DeletionTimestamp: &metav1.Time{Time: now}, Annotations: map[string]string{"volume.beta.kubernetes.io/storage-class": "old"}},
				Spec:   corev1.PersistentVolumeSpec{StorageClassName: "standard", VolumeAttributesClassName: &fast},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased, Reason: "Gone"}},
			WantCells: []interface{}{"pv-2", "0", "", "", "Terminating", "", "old", "fast", "Gone", "5m", "<unset>"},
		},
		{
			Name: "pending claim shows no capacity", Res: PersistentVolumeClaims(),
			WantColumns: []string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"},
			WantWide:    []string{"VOLUMEMODE"},
			Obj: &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &fast, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")}},
			}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
			WantCells: []interface{}{"data", "Pending", "", "", "", "fast", "<unset>", "5m", "<unset>"},
		},
		{
			Name: "bound claim shows the volume's capacity", Res: PersistentVolumeClaims(),
			WantColumns: []string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"},
			WantWide:    []string{"VOLUMEMODE"},
			Obj: &corev1.PersistentVolumeClaim{ObjectMeta: meta("data"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1", VolumeMode: &fs},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: q("10Gi")},
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}}},
			WantCells: []interface{}{"data", "Bound", "pv-1", "10Gi", "RWOP", "", "<unset>", "5m", "Filesystem"},
		},
	})
}
