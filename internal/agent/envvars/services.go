package envvars

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// masterService is the API server's service, whose variables every pod
// gets, even with enableServiceLinks false.
const masterService = "kubernetes"

// serviceEnv is the service-link variables of pod: those of every service
// with a cluster IP in its namespace (when enableServiceLinks, the
// default), and always those of default/kubernetes. A service named
// kubernetes in the pod's own namespace wins over the default one when
// links are enabled.
func serviceEnv(ctx context.Context, src Source, pod *corev1.Pod) (*envList, error) {
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	chosen := map[string]*corev1.Service{}
	if pod.Namespace != metav1.NamespaceDefault || !links {
		defaults, err := src.Services(ctx, metav1.NamespaceDefault)
		if err != nil {
			return nil, fmt.Errorf("list services for environment variables: %w", err)
		}
		for _, s := range defaults {
			if s.Name == masterService && hasClusterIP(s) {
				chosen[s.Name] = s
			}
		}
	}
	if links {
		own, err := src.Services(ctx, pod.Namespace)
		if err != nil {
			return nil, fmt.Errorf("list services for environment variables: %w", err)
		}
		for _, s := range own {
			if hasClusterIP(s) {
				chosen[s.Name] = s
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for name := range chosen {
		names = append(names, name)
	}
	sort.Strings(names)
	env := &envList{}
	for _, name := range names {
		addServiceVars(env, chosen[name])
	}
	return env, nil
}

func hasClusterIP(s *corev1.Service) bool {
	return s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone
}

// varName turns a service or port name into a variable name part.
func varName(s string) string {
	return strings.ReplaceAll(strings.ToUpper(s), "-", "_")
}

// addServiceVars adds a service's variables: <NAME>_SERVICE_HOST,
// <NAME>_SERVICE_PORT (first port), <NAME>_SERVICE_PORT_<PORT> (named
// ports) and the Docker-link style <NAME>_PORT… variables.
func addServiceVars(env *envList, s *corev1.Service) {
	prefix := varName(s.Name)
	ip := s.Spec.ClusterIP
	env.set(prefix+"_SERVICE_HOST", ip)
	if len(s.Spec.Ports) == 0 {
		return
	}
	env.set(prefix+"_SERVICE_PORT", strconv.Itoa(int(s.Spec.Ports[0].Port)))
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			env.set(prefix+"_SERVICE_PORT_"+varName(p.Name), strconv.Itoa(int(p.Port)))
		}
	}
	for i, p := range s.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		port := strconv.Itoa(int(p.Port))
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			env.set(prefix+"_PORT", url)
		}
		pp := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		env.set(pp, url)
		env.set(pp+"_PROTO", strings.ToLower(proto))
		env.set(pp+"_PORT", port)
		env.set(pp+"_ADDR", ip)
	}
}
