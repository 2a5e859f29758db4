package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/skiffhq/skiff/internal/apiserver/defaults"
)

// TestEverydayManifests decodes manifests as users write them (mostly from
// the Kubernetes docs), defaults them and expects validation to pass.
func TestEverydayManifests(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		check    func(t *testing.T, data []byte) field.ErrorList
	}{
		{name: "deployment", manifest: `
metadata: {name: nginx-deployment, namespace: default, labels: {app: nginx}}
spec:
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports: [{containerPort: 80}]
        resources: {limits: {cpu: 500m, memory: 128Mi}}
        readinessProbe: {httpGet: {path: /, port: 80}}
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var d appsv1.Deployment
			mustDecode(t, data, &d)
			defaults.Deployment(&d)
			return ValidateDeployment(&d)
		}},
		{name: "service", manifest: `
metadata: {name: my-service, namespace: default}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: MyApp}
  ports: [{name: http, port: 80, targetPort: 9376, nodePort: 30007}, {name: metrics, port: 9090}]
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var s corev1.Service
			mustDecode(t, data, &s)
			defaults.Service(&s)
			return ValidateService(&s)
		}},
		{name: "statefulset", manifest: `
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 3
  minReadySeconds: 10
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: my-storage-class
      resources: {requests: {storage: 1Gi}}
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var s appsv1.StatefulSet
			mustDecode(t, data, &s)
			defaults.StatefulSet(&s)
			return ValidateStatefulSet(&s)
		}},
		{name: "daemonset", manifest: `
metadata: {name: fluentd-elasticsearch, namespace: kube-system}
spec:
  selector: {matchLabels: {name: fluentd-elasticsearch}}
  template:
    metadata: {labels: {name: fluentd-elasticsearch}}
    spec:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources: {limits: {memory: 200Mi}, requests: {cpu: 100m, memory: 200Mi}}
        volumeMounts: [{name: varlog, mountPath: /var/log}]
      terminationGracePeriodSeconds: 30
      volumes: [{name: varlog, hostPath: {path: /var/log}}]
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var d appsv1.DaemonSet
			mustDecode(t, data, &d)
			defaults.DaemonSet(&d)
			return ValidateDaemonSet(&d)
		}},
		{name: "job", manifest: `
metadata: {name: pi, namespace: default, uid: 0c9f5a4e-7d0e-4b36-8c59-6f1f4f0a8b11}
spec:
  backoffLimit: 4
  template:
    spec:
      containers: [{name: pi, image: perl:5.34.0, command: [perl, -Mbignum=bpi, -wle, print bpi(2000)]}]
      restartPolicy: Never
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var j batchv1.Job
			mustDecode(t, data, &j)
			defaults.Job(&j)
			return ValidateJob(&j)
		}},
		{name: "cronjob", manifest: `
metadata: {name: hello, namespace: default}
spec:
  schedule: "* * * * *"
  timeZone: Etc/UTC
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: hello, image: busybox:1.28, imagePullPolicy: IfNotPresent, command: [/bin/sh, -c, date; echo Hello]}
          restartPolicy: OnFailure
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var c batchv1.CronJob
			mustDecode(t, data, &c)
			defaults.CronJob(&c)
			return ValidateCronJob(&c)
		}},
		{name: "pod with configmap, secret and sidecar", manifest: `
metadata: {name: app, namespace: default}
spec:
  initContainers:
  - {name: logshipper, image: alpine:latest, restartPolicy: Always, command: [sh, -c, tail -F /opt/logs.txt],
     volumeMounts: [{name: data, mountPath: /opt}]}
  containers:
  - name: app
    image: alpine:latest
    envFrom: [{configMapRef: {name: app-config}}]
    env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}]
    volumeMounts: [{name: data, mountPath: /opt}, {name: config, mountPath: /etc/app, readOnly: true}]
    livenessProbe: {exec: {command: [cat, /opt/logs.txt]}, initialDelaySeconds: 5}
  volumes:
  - {name: data, emptyDir: {}}
  - {name: config, configMap: {name: app-config, items: [{key: app.conf, path: app.conf}]}}
`, check: func(t *testing.T, data []byte) field.ErrorList {
			var p corev1.Pod
			mustDecode(t, data, &p)
			defaults.Pod(&p)
			return ValidatePod(&p)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErrors(t, tc.check(t, []byte(tc.manifest)), nil)
		})
	}
}

func mustDecode(t *testing.T, data []byte, into interface{}) {
	t.Helper()
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("decode manifest: %v", err)
	}
}
