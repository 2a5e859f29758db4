package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const moreThanOneHandler = "may not specify more than 1 handler type"

// handler is the union of probe and lifecycle handler actions.
type handler struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func validateLivenessProbe(p *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	allErrs := validateProbe(p, grace, fldPath)
	if p.SuccessThreshold != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("successThreshold"), p.SuccessThreshold, "must be 1"))
	}
	return allErrs
}

func validateStartupProbe(p *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	return validateLivenessProbe(p, grace, fldPath)
}

func validateReadinessProbe(p *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	allErrs := validateProbe(p, grace, fldPath)
	if p.TerminationGracePeriodSeconds != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), p.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	return allErrs
}

// validateProbe checks the handler and the numeric knobs of a probe.
func validateProbe(p *corev1.Probe, grace *int64, fldPath *field.Path) field.ErrorList {
	h := handler{exec: p.Exec, httpGet: p.HTTPGet, tcpSocket: p.TCPSocket, grpc: p.GRPC}
	allErrs := validateHandler(h, grace, fldPath)
	allErrs = append(allErrs, nonNegative(int64(p.InitialDelaySeconds), fldPath.Child("initialDelaySeconds"))...)
	allErrs = append(allErrs, nonNegative(int64(p.TimeoutSeconds), fldPath.Child("timeoutSeconds"))...)
	allErrs = append(allErrs, nonNegative(int64(p.PeriodSeconds), fldPath.Child("periodSeconds"))...)
	allErrs = append(allErrs, nonNegative(int64(p.SuccessThreshold), fldPath.Child("successThreshold"))...)
	allErrs = append(allErrs, nonNegative(int64(p.FailureThreshold), fldPath.Child("failureThreshold"))...)
	if p.TerminationGracePeriodSeconds != nil && *p.TerminationGracePeriodSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *p.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return allErrs
}

// validateLifecycle checks postStart and preStop hooks.
func validateLifecycle(l *corev1.Lifecycle, grace *int64, fldPath *field.Path) field.ErrorList {
	if l == nil {
		return nil
	}
	var allErrs field.ErrorList
	if h := l.PostStart; h != nil {
		allErrs = append(allErrs, validateHandler(lifecycleHandler(h), grace, fldPath.Child("postStart"))...)
	}
	if h := l.PreStop; h != nil {
		allErrs = append(allErrs, validateHandler(lifecycleHandler(h), grace, fldPath.Child("preStop"))...)
	}
	return allErrs
}

func lifecycleHandler(h *corev1.LifecycleHandler) handler {
	return handler{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}
}

// validateHandler requires exactly one action and validates it.
func validateHandler(h handler, grace *int64, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	count := 0
	add := func(set bool, name string, check func() field.ErrorList) {
		if !set {
			return
		}
		if count > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), moreThanOneHandler))
			return
		}
		count++
		allErrs = append(allErrs, check()...)
	}
	add(h.exec != nil, "exec", func() field.ErrorList { return validateExecAction(h.exec, fldPath.Child("exec")) })
	add(h.httpGet != nil, "httpGet", func() field.ErrorList { return validateHTTPGetAction(h.httpGet, fldPath.Child("httpGet")) })
	add(h.tcpSocket != nil, "tcpSocket", func() field.ErrorList {
		return validatePortNumOrName(h.tcpSocket.Port, fldPath.Child("tcpSocket", "port"))
	})
	add(h.grpc != nil, "grpc", func() field.ErrorList {
		return validatePortNumOrName(intstr.FromInt32(h.grpc.Port), fldPath.Child("grpc", "port"))
	})
	add(h.sleep != nil, "sleep", func() field.ErrorList { return validateSleepAction(h.sleep, grace, fldPath.Child("sleep")) })
	if count == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a handler type"))
	}
	return allErrs
}

func validateExecAction(exec *corev1.ExecAction, fldPath *field.Path) field.ErrorList {
	if len(exec.Command) == 0 {
		return field.ErrorList{field.Required(fldPath.Child("command"), "")}
	}
	return nil
}

func validateHTTPGetAction(http *corev1.HTTPGetAction, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if http.Path == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validatePortNumOrName(http.Port, fldPath.Child("port"))...)
	if http.Scheme != corev1.URISchemeHTTP && http.Scheme != corev1.URISchemeHTTPS {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scheme"), http.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, header := range http.HTTPHeaders {
		allErrs = append(allErrs, invalidEach(fldPath.Child("httpHeaders"), header.Name, utilvalidation.IsHTTPHeaderName(header.Name))...)
	}
	return allErrs
}

func validateSleepAction(sleep *corev1.SleepAction, grace *int64, fldPath *field.Path) field.ErrorList {
	if grace == nil {
		return nil
	}
	if sleep.Seconds <= 0 || sleep.Seconds > *grace {
		return field.ErrorList{field.Invalid(fldPath, sleep.Seconds,
			fmt.Sprintf("must be greater than 0 and less than terminationGracePeriodSeconds (%d)", *grace))}
	}
	return nil
}

// validatePortNumOrName checks a port given as number or IANA name.
func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch port.Type {
	case intstr.Int:
		return invalidEach(fldPath, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
	case intstr.String:
		return invalidEach(fldPath, port.StrVal, utilvalidation.IsValidPortName(port.StrVal))
	default:
		return field.ErrorList{field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type))}
	}
}
