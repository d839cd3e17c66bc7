// A cluster's outlier detection as the data path applies it: Envoy's OutlierDetection fields
// after Istio's translation of DestinationRule `outlierDetection` (host/config/translate).

export interface OutlierSettings {
  consecutive5xx: number;
  enforceConsecutive5xx: boolean;
  consecutiveGatewayFailure: number;
  enforceConsecutiveGatewayFailure: boolean;
  consecutiveLocalOriginFailure: number;
  enforceConsecutiveLocalOriginFailure: boolean;
  splitExternalLocalOriginErrors: boolean;
  alwaysEjectOneHost: boolean;
  maxEjectionPercent: number;
  minHealthPercent: number;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
}
