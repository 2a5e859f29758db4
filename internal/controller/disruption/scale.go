package disruption

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// scaleOf is a controller of pods and its desired replicas.
type scaleOf struct {
	uid   types.UID
	scale int32
}

// finder resolves a pod's controllerRef to the controller whose scale
// counts, or nil when ref is not of the kind it knows.
type finder func(ref *metav1.OwnerReference, namespace string) (*scaleOf, error)

// expectedScale adds up the desired replicas of the controllers of pods,
// each controller once; pods without a controller are returned as
// unmanaged. A pod whose controller cannot be found is an error.
func (c *Controller) expectedScale(pods []*corev1.Pod) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	finders := []finder{c.replicationController, c.deployment, c.replicaSet, c.statefulSet}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, ok := scales[ref.UID]; ok {
			continue
		}
		found := false
		for _, find := range finders {
			s, err := find(ref, p.Namespace)
			if err != nil {
				return 0, nil, err
			}
			if s != nil {
				scales[s.uid], found = s.scale, true
				break
			}
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
	}
	var total int32
	for _, n := range scales {
		total += n
	}
	return total, unmanaged, nil
}

// isKind reports whether ref points to group/kind.
func isKind(ref *metav1.OwnerReference, group, kind string) bool {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	return err == nil && gv.Group == group && ref.Kind == kind
}

// notFound turns a missing controller into "not mine" rather than an error.
func notFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func (c *Controller) replicationController(ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if !isKind(ref, "", "ReplicationController") {
		return nil, nil
	}
	rc, err := c.rcs.ReplicationControllers(ns).Get(ref.Name)
	if err != nil || rc.UID != ref.UID {
		return nil, notFound(err)
	}
	return &scaleOf{uid: rc.UID, scale: replicas(rc.Spec.Replicas)}, nil
}

// deployment handles pods of a ReplicaSet that a Deployment controls: the
// Deployment's scale counts, not the ReplicaSet's.
func (c *Controller) deployment(ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if !isKind(ref, "apps", "ReplicaSet") {
		return nil, nil
	}
	rs, err := c.sets.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, notFound(err)
	}
	dref := metav1.GetControllerOf(rs)
	if dref == nil || !isKind(dref, "apps", "Deployment") {
		return nil, nil
	}
	d, err := c.deployments.Deployments(ns).Get(dref.Name)
	if err != nil || d.UID != dref.UID {
		return nil, notFound(err)
	}
	return &scaleOf{uid: d.UID, scale: replicas(d.Spec.Replicas)}, nil
}

// replicaSet handles pods of a ReplicaSet no Deployment controls.
func (c *Controller) replicaSet(ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if !isKind(ref, "apps", "ReplicaSet") {
		return nil, nil
	}
	rs, err := c.sets.ReplicaSets(ns).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil, notFound(err)
	}
	if dref := metav1.GetControllerOf(rs); dref != nil && isKind(dref, "apps", "Deployment") {
		return nil, nil
	}
	return &scaleOf{uid: rs.UID, scale: replicas(rs.Spec.Replicas)}, nil
}

func (c *Controller) statefulSet(ref *metav1.OwnerReference, ns string) (*scaleOf, error) {
	if !isKind(ref, "apps", "StatefulSet") {
		return nil, nil
	}
	ss, err := c.statefuls.StatefulSets(ns).Get(ref.Name)
	if err != nil || ss.UID != ref.UID {
		return nil, notFound(err)
	}
	return &scaleOf{uid: ss.UID, scale: replicas(ss.Spec.Replicas)}, nil
}
