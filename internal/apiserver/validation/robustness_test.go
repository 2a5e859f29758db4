package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestEmptyObjectsAreRejectedWithoutPanic feeds undefaulted, empty objects to
// every validator: they must report errors, never panic.
func TestEmptyObjectsAreRejectedWithoutPanic(t *testing.T) {
	tests := []struct {
		name string
		run  func() field.ErrorList
	}{
		{"pod", func() field.ErrorList { return ValidatePod(&corev1.Pod{}) }},
		{"pod update", func() field.ErrorList { return ValidatePodUpdate(&corev1.Pod{}, &corev1.Pod{}) }},
		{"pod status update", func() field.ErrorList { return ValidatePodStatusUpdate(&corev1.Pod{}, &corev1.Pod{}) }},
		{"pod template", func() field.ErrorList {
			return ValidatePodTemplateSpec(&corev1.PodTemplateSpec{}, field.NewPath("template"))
		}},
		{"deployment", func() field.ErrorList { return ValidateDeployment(&appsv1.Deployment{}) }},
		{"deployment update", func() field.ErrorList { return ValidateDeploymentUpdate(&appsv1.Deployment{}, &appsv1.Deployment{}) }},
		{"replicaset", func() field.ErrorList { return ValidateReplicaSet(&appsv1.ReplicaSet{}) }},
		{"replicaset update", func() field.ErrorList { return ValidateReplicaSetUpdate(&appsv1.ReplicaSet{}, &appsv1.ReplicaSet{}) }},
		{"statefulset", func() field.ErrorList { return ValidateStatefulSet(&appsv1.StatefulSet{}) }},
		{"statefulset update", func() field.ErrorList { return ValidateStatefulSetUpdate(&appsv1.StatefulSet{}, &appsv1.StatefulSet{}) }},
		{"daemonset", func() field.ErrorList { return ValidateDaemonSet(&appsv1.DaemonSet{}) }},
		{"daemonset update", func() field.ErrorList { return ValidateDaemonSetUpdate(&appsv1.DaemonSet{}, &appsv1.DaemonSet{}) }},
		{"job", func() field.ErrorList { return ValidateJob(&batchv1.Job{}) }},
		{"job update", func() field.ErrorList { return ValidateJobUpdate(&batchv1.Job{}, &batchv1.Job{}) }},
		{"cronjob", func() field.ErrorList { return ValidateCronJob(&batchv1.CronJob{}) }},
		{"cronjob update", func() field.ErrorList { return ValidateCronJobUpdate(&batchv1.CronJob{}, &batchv1.CronJob{}) }},
		{"service", func() field.ErrorList { return ValidateService(&corev1.Service{}) }},
		{"service update", func() field.ErrorList { return ValidateServiceUpdate(&corev1.Service{}, &corev1.Service{}) }},
		{"configmap", func() field.ErrorList { return ValidateConfigMap(&corev1.ConfigMap{}) }},
		{"configmap update", func() field.ErrorList { return ValidateConfigMapUpdate(&corev1.ConfigMap{}, &corev1.ConfigMap{}) }},
		{"secret", func() field.ErrorList { return ValidateSecret(&corev1.Secret{}) }},
		{"secret update", func() field.ErrorList { return ValidateSecretUpdate(&corev1.Secret{}, &corev1.Secret{}) }},
		{"namespace", func() field.ErrorList { return ValidateNamespace(&corev1.Namespace{}) }},
		{"namespace update", func() field.ErrorList { return ValidateNamespaceUpdate(&corev1.Namespace{}, &corev1.Namespace{}) }},
		{"node", func() field.ErrorList { return ValidateNode(&corev1.Node{}) }},
		{"node update", func() field.ErrorList { return ValidateNodeUpdate(&corev1.Node{}, &corev1.Node{}) }},
		{"pvc", func() field.ErrorList { return ValidatePersistentVolumeClaim(&corev1.PersistentVolumeClaim{}) }},
		{"pvc update", func() field.ErrorList {
			return ValidatePersistentVolumeClaimUpdate(&corev1.PersistentVolumeClaim{}, &corev1.PersistentVolumeClaim{})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if errs := tc.run(); len(errs) == 0 {
				t.Errorf("empty object accepted")
			}
		})
	}
}
