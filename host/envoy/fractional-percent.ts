// Istio's Percent (0..100, fractions allowed) as Envoy's FractionalPercent, the way Pilot
// converts it (translatePercentToFractionalPercent): parts per million, so 0.0001 % survives.

export function fractionalPercent(percentage: number): { numerator: number; denominator: 'MILLION' } {
  const clamped = Math.min(100, Math.max(0, percentage));
  return { numerator: Math.round(clamped * 10_000), denominator: 'MILLION' };
}
