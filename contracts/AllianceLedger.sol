// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC6909} from "@openzeppelin/contracts/interfaces/IERC6909.sol";
import {ERC6909} from "@openzeppelin/contracts/token/ERC6909/ERC6909.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {AllianceLedgerAdmin} from "./AllianceLedgerAdmin.sol";
import {Extsload} from "./Extsload.sol";
import {LedgerStorage} from "./LedgerStorage.sol";
import {IAllianceDirectory} from "./interfaces/IAllianceDirectory.sol";
import {IAllianceLedger} from "./interfaces/IAllianceLedger.sol";
import {IMembershipBadge} from "./interfaces/IMembershipBadge.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";
import {Calendar} from "./libraries/Calendar.sol";
import {LotMath} from "./libraries/LotMath.sol";
import {BrandConfig, BrandConfigLibrary} from "./types/BrandConfig.sol";
import {GiftShares} from "./types/GiftShares.sol";
import {LedgerGlobals, LedgerGlobalsLibrary} from "./types/LedgerGlobals.sol";
import {MemberWord, MemberWordLibrary} from "./types/MemberWord.sol";
import {MintDay} from "./types/MintDay.sol";
import {LockMonths} from "./types/LockMonths.sol";
import {PackedEarnRule, PackedEarnRuleLibrary} from "./types/PackedEarnRule.sol";
import {PendingWord} from "./types/PendingWord.sol";

/// @title AllianceLedger: the alliance's points, tiers and inter-brand settlement.
/// @notice Each brand issues its own points as an ERC-6909 id (the brand id).
/// Points live in monthly lots that stop counting 12 full months after the
/// month they were earned in; spending consumes the oldest lots first. Members
/// move points only by calling themselves or by signing EIP-712 messages.
/// @dev ERC-6909 over ERC-1155: no receiver callbacks (no reentrancy through
/// transfers, cheaper mints), per-id allowances and operators, and the balance
/// hook is one internal function we replace with lot accounting. OpenZeppelin's
/// own `_balances` stay unused: {balanceOf} sums the live lots instead.
/// Packed storage words are value types with a library each (types/): no code here reads a
/// word at hand-written bit offsets. Read-only views beyond ERC-6909, the directory and what
/// the gateway and the vault call live in {AllianceLedgerLens}, which reads this contract's
/// storage through {Extsload} with the slot layout of {LedgerState}.
contract AllianceLedger is ISettlementLedger, Extsload, LedgerStorage {
    using SafeCast for uint256;

    /// @notice The role of the settlement vault, which records token-paid settlements.
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    bytes32 private constant GIFT_TYPEHASH =
        keccak256("Gift(address member,address to,uint256 brand,uint256 amount,uint256 nonce,uint256 deadline)");
    bytes32 private constant REDEEM_TYPEHASH = keccak256(
        "Redeem(address member,uint256 brand,uint256 atBrand,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline)"
    );

    IMembershipBadge private immutable _badge;
    /// @dev {AllianceLedgerAdmin}, deployed by the constructor: the brand administration runs
    /// here by delegatecall ({fallback}), on this contract's storage, roles and pause.
    address private immutable _administration;

    /// @param admin the alliance's governance address (a multisig in production)
    /// @param badge the membership badge contract; this ledger must hold its LEDGER_ROLE
    /// @param charityPool the address donations go to
    constructor(address admin, IMembershipBadge badge, address charityPool) {
        if (charityPool == address(0)) revert LedgerInvalidMember(charityPool);
        _administration = address(new AllianceLedgerAdmin());
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _badge = badge;
        _charityPool = charityPool;
        emit CharityPoolChanged(charityPool);
        _setSystem(address(this), true);
    }

    /// @notice The brand administration (onboarding, signers, suspension, point values, earn and
    /// tier rules, daily caps, return windows, charity pool, system addresses): every call this
    /// contract does not define runs {AllianceLedgerAdmin}'s code on this contract's storage.
    /// @dev Its functions keep their own access control (the admin role) and pause rules, and
    /// emit their events from this address; an unknown selector reverts without data. The
    /// ledger's published ABI includes {AllianceLedgerAdmin}'s functions (scripts/ledger_abi.py).
    fallback(bytes calldata input) external returns (bytes memory) {
        return Address.functionDelegateCall(_administration, input);
    }

    /// @notice Pauses every state change but views. Admin only.
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause. Admin only.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    // ========================================================= brands (own key)

    /// @inheritdoc ERC6909
    /// @dev Requirements: not paused.
    function approve(address spender, uint256 id, uint256 amount)
        public
        override(ERC6909, IERC6909)
        whenNotPaused
        returns (bool)
    {
        return super.approve(spender, id, amount);
    }

    /// @inheritdoc ERC6909
    /// @dev Requirements: not paused.
    function setOperator(address spender, bool approved)
        public
        override(ERC6909, IERC6909)
        whenNotPaused
        returns (bool)
    {
        return super.setOperator(spender, approved);
    }

    /// @notice Applies one earn operation for the caller's brand.
    /// @dev Requirements: not paused; caller is a signer of an active brand; `op.opId`
    /// unused for this brand; a valid member, kind, multiplier and amount.
    /// Emits {Transfer} and {PointsEarned} events, and {TierUpgraded} on an upgrade.
    /// @return points the points credited (upgrade gift excluded)
    function earn(EarnOp calldata op) external whenNotPaused returns (uint256 points) {
        (uint256 brand, BrandConfig cfg, bytes4 brandError) = _callerBrand();
        if (brandError != bytes4(0)) _revertEarn(brandError, brand, op, 0);
        EarnContext memory ctx = _earnContext(brand, cfg);
        uint256 offset;
        assembly ("memory-safe") {
            offset := op
        }
        points = _earnOps(ctx, offset, 1, true);
        _closeEarn(ctx);
    }

    /// @notice Applies many earn operations for the caller's brand in one transaction.
    /// @dev An operation that cannot apply is skipped with an {OperationSkipped} event
    /// carrying the error selector; it never reverts its neighbours. A caller that is no
    /// brand signer reverts. Requirements: not paused. Emits a {Transfer} per applied operation
    /// and, when any applied, one {PointsEarnedBatch} with their records (no {PointsEarned}).
    /// @return applied how many operations were applied
    // slither-disable-start incorrect-equality the strict equalities below compare error selectors,
    // quarter and month indexes and flags, which are exact by design (none is a balance)
    function earnBatch(EarnOp[] calldata ops) external whenNotPaused returns (uint256 applied) {
        (uint256 brand, BrandConfig cfg, bytes4 brandError) = _callerBrand();
        if (brandError == LedgerNotBrandSigner.selector) revert LedgerNotBrandSigner(msg.sender, 0);
        if (brandError != bytes4(0)) {
            for (uint256 i; i < ops.length; ++i) {
                emit OperationSkipped(brand, ops[i].opId, brandError);
            }
            return 0;
        }
        EarnContext memory ctx = _earnContext(brand, cfg);
        uint256 offset;
        assembly ("memory-safe") {
            offset := ops.offset
        }
        // The records of {PointsEarnedBatch}, laid out as the event's ABI data (offset, length,
        // bytes), allocated for every operation plus a zero word of padding.
        uint256 records;
        assembly ("memory-safe") {
            records := mload(0x40)
            mstore(records, 0x20)
            mstore(0x40, add(records, add(96, mul(ops.length, 80))))
        }
        ctx.records = records;
        applied = _earnOps(ctx, offset, ops.length, false);
        if (applied != 0) {
            _closeEarn(ctx);
            bytes32 topic = PointsEarnedBatch.selector;
            uint256 brand_ = ctx.brand;
            assembly ("memory-safe") {
                let len := mul(applied, 80)
                mstore(add(records, 0x20), len)
                mstore(add(add(records, 64), len), 0) // the padding of the last word
                log2(records, add(64, and(add(len, 31), not(31))), topic, brand_)
            }
        }
    }

    // ============================================================ member moves

    /// @notice Gifts points on the member's signature, relayed by anyone.
    /// @dev A gift to the charity pool is a donation. Lots keep their earn month, so a
    /// gift never extends expiry. Requirements: valid unexpired signature and nonce;
    /// enough live points. Emits {Transfer} (and {PointsDonated}) events.
    function giftWithSig(Gift calldata gift, bytes calldata signature) external whenNotPaused {
        _useSignature(
            gift.member,
            keccak256(abi.encode(GIFT_TYPEHASH, gift.member, gift.to, gift.brand, gift.amount, gift.nonce, gift.deadline)),
            gift.nonce,
            gift.deadline,
            signature
        );
        if (gift.to == address(0)) revert ERC6909InvalidReceiver(address(0));
        _update(gift.member, gift.to, gift.brand, gift.amount);
    }

    /// @notice Donates the caller's points of `brand` to the charity pool.
    /// @dev Emits {Transfer} and {PointsDonated} events.
    function donate(uint256 brand, uint256 amount) external {
        _update(msg.sender, _charityPool, brand, amount);
    }

    /// @notice Redeems the caller's `brand` points at `brand` itself.
    /// @dev Oldest lots first. A cross-brand redemption needs the consent of the brand where the
    /// points are spent, so it goes through {redeemWithSig} sent by that brand's signer: here
    /// `atBrand != brand` reverts with {LedgerNoBrandConsent}.
    /// Requirements: not paused; `atBrand == brand`; the brand active; enough live points.
    /// Emits {Transfer} and {PointsRedeemed} events.
    /// @return valueMicroUsd the redeemed value: each consumed lot at the value of its earn month
    function redeem(uint256 brand, uint256 atBrand, uint256 amount, bytes32 orderRef)
        external
        whenNotPaused
        returns (uint256 valueMicroUsd)
    {
        if (brand != atBrand) revert LedgerNoBrandConsent(atBrand, msg.sender);
        return _redeem(msg.sender, brand, atBrand, amount, orderRef);
    }

    /// @notice Redeems on the member's EIP-712 signature: `r.member`'s `r.brand` points at `r.atBrand`.
    /// @dev The member consents by signing; for a cross-brand redemption (`r.atBrand != r.brand`,
    /// which records that `r.brand` owes `r.atBrand` the value) the brand where the points are
    /// spent consents by sending the transaction: the caller must be a signer of `r.atBrand`,
    /// else {LedgerNoBrandConsent}. A redemption at the issuing brand may be relayed by anyone.
    /// Requirements: not paused; valid unexpired signature and nonce; both brands active;
    /// enough live points. Emits {Transfer} and {PointsRedeemed} events.
    function redeemWithSig(Redeem calldata r, bytes calldata signature)
        external
        whenNotPaused
        returns (uint256 valueMicroUsd)
    {
        _useSignature(
            r.member,
            keccak256(
                abi.encode(REDEEM_TYPEHASH, r.member, r.brand, r.atBrand, r.amount, r.orderRef, r.nonce, r.deadline)
            ),
            r.nonce,
            r.deadline,
            signature
        );
        if (r.brand != r.atBrand && _brandOfSigner[msg.sender] != r.atBrand) {
            revert LedgerNoBrandConsent(r.atBrand, msg.sender);
        }
        return _redeem(r.member, r.brand, r.atBrand, r.amount, r.orderRef);
    }

    // ==================================================================== tiers

    /// @notice Applies the member's due quarterly reviews; anyone may call.
    /// @dev A function of the calendar (UTC quarters), not of when it is called: at each quarter
    /// start q since the member's last review, the quarter q-1 is judged. Met the tier: kept
    /// ({TierRetained}). Short and not in grace: warned, the tier kept through quarter q
    /// (`graceUntilMonth` = the first month of q+1, {TierDowngradeWarned}). Short and in grace
    /// (warned at q-1's start): one step down ({TierDowngraded}), with no grace carried over.
    /// Meeting the thresholds during grace ends it. Requirements: not paused; the member not
    /// yet reviewed at this quarter's start, else {TierAlreadyReviewed}.
    function reviewTier(address member) external whenNotPaused {
        uint256 quarter = Calendar.currentMonth() / 3;
        if (!_review(member, quarter)) revert TierAlreadyReviewed(member, quarter);
    }

    /// @notice {reviewTier} for many members; anyone may call (the gateway does, at each quarter start).
    /// @dev A member already reviewed at this quarter's start is skipped with {TierReviewSkipped}.
    /// Requirements: not paused.
    function reviewTiers(address[] calldata members) external whenNotPaused {
        uint256 quarter = Calendar.currentMonth() / 3;
        for (uint256 i; i < members.length; ++i) {
            if (!_review(members[i], quarter)) emit TierReviewSkipped(members[i], quarter);
        }
    }

    // =============================================================== settlement

    /// @notice Clears the net position between two brands once paid off chain.
    /// @dev Requirements: caller is the creditor brand's signer or the admin.
    /// Emits a {PositionSettled} event with a token amount of 0.
    function settle(uint256 brandA, uint256 brandB) external whenNotPaused {
        int256 owed = position(brandA, brandB);
        if (owed == 0) revert SettlementNothingToSettle(brandA, brandB);
        (uint256 debtor, uint256 creditor, uint256 value) =
            owed > 0 ? (brandA, brandB, uint256(owed)) : (brandB, brandA, uint256(-owed));
        if (_brandOfSigner[msg.sender] != creditor && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert SettlementNotParty(msg.sender, brandA, brandB);
        }
        _addDebt(creditor, debtor, value);
        emit PositionSettled(debtor, creditor, value, 0);
    }

    /// @notice Records a settlement the vault paid in tokens: `debtor` paid `creditor` `valueMicroUsd`.
    /// @dev Requirements: caller holds SETTLER_ROLE; `debtor` owes `creditor` at least that value.
    /// Emits a {PositionSettled} event.
    function recordSettlement(uint256 debtor, uint256 creditor, uint256 valueMicroUsd, uint256 tokenAmount)
        external
        whenNotPaused
        onlyRole(SETTLER_ROLE)
    {
        int256 owed = position(debtor, creditor);
        if (valueMicroUsd == 0 || owed < valueMicroUsd.toInt256()) revert SettlementNothingToSettle(debtor, creditor);
        _addDebt(creditor, debtor, valueMicroUsd);
        emit PositionSettled(debtor, creditor, valueMicroUsd, tokenAmount);
    }

    // ==================================================================== views
    // Lots, brand accounts, brand info, member status, tier rules and net positions are read
    // through {AllianceLedgerLens}.

    /// @inheritdoc ERC6909
    /// @dev The sum of the member's live lots less its pending points: expired points stop
    /// counting at once, pending points count from their release second on.
    function balanceOf(address owner, uint256 id) public view override(ERC6909, IERC6909) returns (uint256) {
        // No underflow: the lots hold every pending point (pending points are never spent).
        return _lotsTotal(owner, id) - _pending[owner][id].locked(block.timestamp / 1 days);
    }

    function _lotsTotal(address owner, uint256 id) private view returns (uint256 total) {
        uint256[7] storage slots = _lots[owner][id];
        uint256 month = Calendar.currentMonth();
        for (uint256 m = month - 12; m <= month; ++m) {
            total += LotMath.amountAt(slots, m);
        }
    }

    /// @inheritdoc ISettlementLedger
    function brandCount() external view returns (uint256) {
        return _brandCount;
    }

    /// @notice Whether `opId` was already applied for `brand`.
    function isOperationUsed(uint256 brand, uint64 opId) external view returns (bool) {
        return _usedOps[brand][opId >> 8] & (uint256(1) << (opId & 0xff)) != 0;
    }

    /// @inheritdoc ISettlementLedger
    function position(uint256 brandA, uint256 brandB) public view returns (int256) {
        if (brandA == brandB) return 0;
        return brandA < brandB ? _positions[_pairKey(brandA, brandB)] : -_positions[_pairKey(brandB, brandA)];
    }

    /// @notice Where donations go.
    function charityPool() external view returns (address) {
        return _charityPool;
    }




    // ================================================================ internals

    /// @dev Everything an earn needs, loaded once per call and written back by {_closeEarn}.
    struct EarnContext {
        uint256 brand;
        BrandConfig cfg;
        uint256 month;
        uint256 quarter;
        PackedEarnRule rule; // cfg.rule(): one byte of points per EarnKind
        uint256 floors1; // tier 1..3 thresholds in lane form ({LedgerGlobalsLibrary.floors}), read once per call
        uint256 floors2;
        uint256 floors3;
        uint256 entryFloors; // lane-wise minimum of the three: short of it, no tier is met
        uint256 minted; // points minted by this call
        uint256 usedWordIndex;
        uint256 usedWord;
        uint256 day; // the UTC day (days since 1970-01-01)
        uint256 dayMinted; // points the brand minted today, this call's included
        uint256 cap; // the brand's daily mint cap
        uint256 value; // the value (micro-USD) of the points the brand issues this month
        uint256 maxMultiplier; // the admin's cap on an operation's multiplier, in percent
        uint256 records; // earnBatch: memory address of the records of {PointsEarnedBatch} (0: a lone earn)
        uint256 recordCount; // records written so far
        uint256 part; // the operation's addition to the brand's part of the member's quarter (micro-USD)
        uint256 orderFloor; // the least spend (cents) a purchase counts to count as an order
    }

    function _earnContext(uint256 brand, BrandConfig cfg) private view returns (EarnContext memory ctx) {
        ctx.brand = brand;
        ctx.cfg = cfg;
        ctx.month = Calendar.currentMonth();
        ctx.quarter = ctx.month / 3;
        ctx.rule = cfg.rule();
        LedgerGlobals globals = _globals;
        ctx.floors1 = globals.floors(1);
        ctx.floors2 = globals.floors(2);
        ctx.floors3 = globals.floors(3);
        ctx.entryFloors = LedgerGlobalsLibrary.minFloors(ctx.floors1, ctx.floors2, ctx.floors3);
        ctx.maxMultiplier = globals.maxMultiplierPct();
        ctx.orderFloor = globals.orderFloorCents();
        ctx.usedWordIndex = type(uint256).max;
        MintDay mintDay = _mintDays[brand];
        ctx.day = block.timestamp / 1 days;
        ctx.dayMinted = mintDay.mintedOn(ctx.day);
        ctx.cap = mintDay.cap();
        ctx.value = _valueFor(brand, cfg, ctx.month);
    }

    /// @dev The five checked fields of an earn operation, each read from calldata once.
    /// Solidity's decoder checks a calldata field when it is read and reverts without data on
    /// bits beyond the field's type; both earn paths read all five before anything else, so
    /// checking them together here keeps that behaviour exactly. (orderRef is a full word.)
    function _readOp(EarnOp calldata op)
        private
        pure
        returns (uint256 opId, address member, EarnKind kind, uint256 mult, uint256 cents)
    {
        assembly ("memory-safe") {
            opId := calldataload(op)
            member := calldataload(add(op, 0x20))
            kind := calldataload(add(op, 0x40))
            mult := calldataload(add(op, 0x60))
            cents := calldataload(add(op, 0x80))
            // uint64, address, EarnKind (5 members: 0..4), uint16, uint64
            if or(or(shr(64, opId), shr(160, member)), or(gt(kind, 4), or(shr(16, mult), shr(64, cents)))) {
                revert(0, 0)
            }
        }
    }

    /// @dev Applies the `count` operations at calldata `offset` (six static words each, checked
    /// by the decoder of the external call to lie within calldata). `strict` (a single {earn}):
    /// a failure reverts with its custom error and the operation's points are returned; else a
    /// failure is skipped with {OperationSkipped} and the count applied is returned. One
    /// function for both entry points keeps the earn path's code once in the bytecode.
    function _earnOps(EarnContext memory ctx, uint256 offset, uint256 count, bool strict)
        private
        returns (uint256 result)
    {
        for (uint256 i; i < count; ++i) {
            EarnOp calldata op;
            assembly ("memory-safe") {
                // ops[i] without the index check (i < count holds)
                op := add(offset, mul(i, 0xc0))
            }
            (bytes4 failure, uint256 points) = _applyEarn(ctx, op);
            if (strict) {
                if (failure != bytes4(0)) _revertEarn(failure, ctx.brand, op, ctx.dayMinted + points);
                return points;
            }
            if (failure == bytes4(0)) {
                unchecked {
                    ++result; // at most count
                }
            } else {
                emit OperationSkipped(ctx.brand, op.opId, failure);
            }
        }
    }

    /// @dev Validates and applies one earn; returns the failing error's selector, or 0 (and the
    /// operation's points, also when it fails for the daily cap). Nothing is written unless every
    /// check passes.
    function _applyEarn(EarnContext memory ctx, EarnOp calldata op) private returns (bytes4 failure, uint256 points) {
        (uint256 opId, address member, EarnKind kind, uint256 mult, uint256 cents) = _readOp(op);
        if (member == address(0)) return (LedgerInvalidMember.selector, 0);
        if (mult == 0 || mult > ctx.maxMultiplier) return (LedgerInvalidMultiplier.selector, 0);
        uint256 rate = ctx.rule.rate(kind);
        if (kind == EarnKind.Purchase) {
            if (cents == 0 || cents > MAX_AMOUNT) return (LedgerInvalidAmount.selector, 0);
            // No overflow: cents <= 1e12, rate <= 255, mult <= 1000.
            unchecked {
                points = cents * rate * mult / 10_000;
            }
        } else {
            cents = 0; // an engagement's amount is ignored: it counts no spend and {PointsEarned} says 0
            unchecked {
                points = rate * mult / 100;
            }
        }
        if (points == 0) return (LedgerZeroPoints.selector, 0);
        MemberSlot storage slot = _members[member];
        MemberWord word = slot.word;
        if (word.isSystem()) return (LedgerInvalidMember.selector, 0);
        // No overflow: dayMinted < 2**112 and points < 2**60.
        unchecked {
            if (ctx.dayMinted + points > ctx.cap) return (LedgerDailyMintCapExceeded.selector, points);
        }

        uint256 wordIndex = opId >> 8;
        uint256 bit = uint256(1) << (opId & 0xff);
        if (wordIndex != ctx.usedWordIndex) {
            if (ctx.usedWordIndex != type(uint256).max) _usedOps[ctx.brand][ctx.usedWordIndex] = ctx.usedWord;
            ctx.usedWordIndex = wordIndex;
            ctx.usedWord = _usedOps[ctx.brand][wordIndex];
        }
        if (ctx.usedWord & bit != 0) return (LedgerOperationUsed.selector, 0);
        // Counted toward tiers: spend only in proportion to a multiplier below 100%, so that it
        // never exceeds what the brand's published rate pays for it.
        if (mult < 100) {
            unchecked {
                // slither-disable-next-line divide-before-multiply points were computed from the same cents, not from this
                cents = cents * mult / 100; // no overflow: cents <= 1e12, mult < 100
            }
        }
        // The pending position is the last check (a position past 28 bits refuses the purchase):
        // a refused operation must change nothing, so every write comes after it.
        // slither-disable-next-line uninitialized-local 0 on purpose: live at once unless pending below
        uint256 releaseAt;
        uint256 window = ctx.cfg.returnWindowDays();
        if (kind == EarnKind.Purchase && window != 0) {
            // Pending until the first second of the UTC day after the window's last day.
            bool ok;
            PendingWord pending;
            uint256 moved;
            (pending, releaseAt, ok, moved) =
                _pending[member][ctx.brand].add(ctx.day, ctx.day + window + 1, points, ctx.month, cents >= ctx.orderFloor);
            if (!ok) return (LedgerInvalidAmount.selector, 0);
            // releaseAt 0: 4 positions of 4 other months (a 90-day window), live at once.
            if (releaseAt != 0) _pending[member][ctx.brand] = pending;
            if (moved != 0) _emitMoved(ctx.brand, member, moved);
            releaseAt *= 1 days;
        }
        ctx.usedWord |= bit;
        uint256 minted;
        unchecked {
            // No overflow: points <= 1e12 * 255 * 1000 / 10_000 and a gift share < 2**64, per
            // operation, and a call carries far fewer than 2**200 operations.
            minted = points + _recordActivity(ctx, slot, word, member, kind, cents, points, points >= rate);
            ctx.minted += minted;
            ctx.dayMinted += minted;
        }
        // One write: the points and, when the operation counted toward the tier, the brand's part.
        LotMath.credit(_lots[member][ctx.brand], ctx.month, minted, ctx.part);
        _emitEarned(ctx, member, opId, kind, points, cents, minted, op.orderRef, releaseAt);
    }

    /// @dev Emits {PendingPointsMoved} for a merge of {PendingWordLibrary-add} (`moved`: `fromDay
    /// | toDay << 16 | month << 32`).
    function _emitMoved(uint256 brand, address member, uint256 moved) private {
        emit PendingPointsMoved(brand, member, moved >> 32, (moved & 0xffff) * 1 days, ((moved >> 16) & 0xffff) * 1 days);
    }

    /// @dev Emits {Transfer} (the mint of `minted`) for one earn operation, and its {PointsEarned}
    /// for a lone earn or its record of {PointsEarnedBatch} in a batch, encoded in scratch
    /// memory: the hot path of a batch pays neither the free-memory-pointer bookkeeping nor the
    /// re-validation of values already checked by {_readOp}. The event signatures are the
    /// interfaces' (`.selector`), and the tests decode both with the ABI.
    function _emitEarned(
        EarnContext memory ctx,
        address member,
        uint256 opId,
        EarnKind kind,
        uint256 points,
        uint256 spendCents,
        uint256 minted,
        bytes32 orderRef,
        uint256 releaseAt
    ) private {
        bytes32 transferTopic = IERC6909.Transfer.selector;
        bytes32 earnedTopic = PointsEarned.selector;
        uint256 brand = ctx.brand;
        uint256 records = ctx.records;
        if (records != 0) {
            uint256 at;
            unchecked {
                at = records + 64 + ctx.recordCount++ * 80; // within the allocation: one per operation
            }
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                mstore(ptr, caller())
                mstore(add(ptr, 0x20), minted)
                log4(ptr, 0x40, transferTopic, 0, member, brand)
                // The record's fields, last first: each mstore writes its field right-aligned at
                // its end and zeroes bytes that an earlier field then overwrites; the first word
                // is written last, whole (opId, member, kind, the top 3 bytes of points).
                // Widths hold: opId < 2**64, points < 2**64, spendCents <= 1e12 < 2**48,
                // releaseAt < 2**40 (a day index times 86,400).
                mstore(add(at, 48), orderRef)
                mstore(add(at, 16), releaseAt)
                mstore(add(at, 11), spendCents)
                mstore(add(at, 5), points)
                mstore(at, or(or(shl(192, opId), shl(32, member)), or(shl(24, kind), shr(40, points))))
            }
            return;
        }
        assembly ("memory-safe") {
            let ptr := mload(0x40) // written past the free pointer, never allocated: scratch
            // Transfer(address caller, address indexed sender, address indexed receiver, uint256 indexed id, uint256 amount)
            mstore(ptr, caller())
            mstore(add(ptr, 0x20), minted)
            log4(ptr, 0x40, transferTopic, 0, member, brand)
            // PointsEarned(brand, member, opId indexed; kind, points, spendCents, orderRef, releaseAt)
            mstore(ptr, kind)
            mstore(add(ptr, 0x20), points)
            mstore(add(ptr, 0x40), spendCents)
            mstore(add(ptr, 0x60), orderRef)
            mstore(add(ptr, 0x80), releaseAt)
            log4(ptr, 0xa0, earnedTopic, brand, member, opId)
        }
    }

    /// @dev Writes back what a whole earn call accumulated: used-id word, brand totals, month liability.
    function _closeEarn(EarnContext memory ctx) private {
        _usedOps[ctx.brand][ctx.usedWordIndex] = ctx.usedWord;
        _mintDays[ctx.brand] = _mintDays[ctx.brand].setMinted(ctx.day, ctx.dayMinted.toUint112());
        _brands[ctx.brand] = _creditBrand(ctx.brand, ctx.cfg, ctx.month, ctx.minted);
    }


    /// @dev An upgrade's gift: the tiers it crosses (`previous` + 1 to `best`), its points, and the
    /// day its shares are locked until (0: live at once).
    struct GiftCall {
        uint256 previous;
        uint256 best;
        uint256 points;
        uint256 hold;
    }

    /// @dev Splits an upgrade gift among the brands whose counted operations qualified the member
    /// this quarter, in proportion to the value each issued to it (its parts). The gift is set in
    /// points of the reference value ({REFERENCE_POINT_VALUE}); each brand pays its part of that
    /// value in its own points at its value this month, so that equal parts cost equal value
    /// whatever the brands' point values (a hostile review of 2026-12-07: equal parts paid 251
    /// and 249 points worth 2.51 and 1.25 USD). Each other brand pays ceil(value * part / total)
    /// in points rounded up, but never points worth more than the value left, minted here (its
    /// totals, daily mint and the member's lot); the calling brand pays the value left, in points rounded up,
    /// returned to be minted with the operation. While a purchase counted in the quarter is
    /// pending (it could still be reversed), every share is locked until the latest such
    /// purchase's release ({_lockShare}). Emits {TierGiftPaid} per paying brand. The parts live
    /// in the member's lots ({LotMath.partSince}).
    function _payGift(EarnContext memory ctx, address member, uint256 brands, GiftCall memory g)
        private
        returns (uint256 own)
    {
        mapping(uint256 brand => uint256[7]) storage parts = _lots[member];
        uint256 count = _brandCount;
        // slither-disable-next-line uninitialized-local the sum starts at zero on purpose
        uint256 total;
        for (uint256 b = 1; b <= count; ++b) {
            total += _partIn(ctx, parts, brands, b);
            if (brands & (uint256(1) << ((b - 1) % BRAND_BITS)) == 0) continue;
            uint256 day = _pending[member][b].latestPurchaseDay(ctx.day);
            if (day > g.hold) g.hold = day;
        }
        // No overflow: points <= 3 * MAX_TIER_GIFT, parts < 2**160 (values < 2**32 per point).
        // A share is at most the gift's value in points of 1 micro-USD (3e13 < 2**64).
        uint256 giftValue = g.points * REFERENCE_POINT_VALUE; // micro-USD
        uint256 left = giftValue;
        // No part at all (every counted operation issued nothing): the calling brand pays it.
        if (total == 0) count = 0;
        for (uint256 b = 1; b <= count; ++b) {
            if (b == ctx.brand) continue;
            uint256 value = (giftValue * _partIn(ctx, parts, brands, b) + total - 1) / total;
            if (value > left) value = left;
            if (value == 0) continue;
            BrandConfig cfg = _brands[b];
            uint256 pointValue = _valueFor(b, cfg, ctx.month);
            uint256 share = (value + pointValue - 1) / pointValue;
            // Whole points worth no more than the value left: a brand of high-value points paid
            // a whole point, worth far more than its part (a review: a point of 4,295 USD for a
            // 4.94 USD part); the calling brand then pays the rest.
            // slither-disable-next-line divide-before-multiply whole points, then the value they are worth
            if (share * pointValue > left) share = left / pointValue;
            if (share == 0) continue;
            // slither-disable-next-line divide-before-multiply the value of the whole points paid
            left -= share * pointValue;
            emit TierGiftPaid(member, b, share, _lockShare(ctx, member, b, share, g));
            _brands[b] = _creditBrand(b, cfg, ctx.month, share);
            MintDay mintDay = _mintDays[b];
            _mintDays[b] = mintDay.setMinted(ctx.day, (mintDay.mintedOn(ctx.day) + share).toUint112());
            LotMath.credit(_lots[member][b], ctx.month, share, 0);
            emit Transfer(msg.sender, address(0), member, b, share);
        }
        own = (left + ctx.value - 1) / ctx.value;
        if (own != 0) emit TierGiftPaid(member, ctx.brand, own, _lockShare(ctx, member, ctx.brand, own, g));
    }

    /// @dev Locks `share` points of brand `b`'s gift share until the gift's hold day (one lock per
    /// member and brand: a lock still running keeps the later of the two days, {TierGiftHoldExtended}
    /// when that moves it) and records them under the tiers the gift crosses, in proportion to
    /// their gifts, the rounding left to the top one ({GiftShares}). Returns the release time (0:
    /// live at once: nothing pending, a lock past 32 bits, or a share of a fifth month in it).
    function _lockShare(EarnContext memory ctx, address member, uint256 b, uint256 share, GiftCall memory g)
        private
        returns (uint256 releaseAt)
    {
        if (g.hold == 0) return 0;
        PendingWord pending = _pending[member][b];
        (uint256 day, uint256 locked) = pending.gift(ctx.day); // a lock whose day came is the member's
        uint256 hold = day > g.hold ? day : g.hold;
        bool ok;
        (pending, ok) = pending.withGift(hold, locked + share);
        if (!ok) return 0;
        // The share sits in the lot of this month: the lock records it there (a new lock starts
        // from no month; a fifth month's share is paid live, as one past the lock's 32 bits).
        // slither-disable-next-line uninitialized-local empty on purpose: a new lock starts from no month
        LockMonths months;
        if (locked != 0) months = _giftLockMonths[member][b];
        (months, ok) = months.add(ctx.month, share);
        if (!ok) return 0;
        _giftLockMonths[member][b] = months;
        _pending[member][b] = pending;
        if (locked != 0 && day < hold) emit TierGiftHoldExtended(member, b, locked, day * 1 days, hold * 1 days);
        mapping(uint256 => uint256) storage shares = _giftShares[member];
        // The record's other bits (the tiers paid again, {_regainGifts}) stay.
        shares[GiftShares.key(ctx.quarter, 0)] |= GiftShares.LOCKED;
        uint256 k = GiftShares.key(ctx.quarter, b);
        uint256 word = shares[k];
        uint256 left = share;
        for (uint256 t = g.previous + 1; t < g.best; ++t) {
            uint256 portion = share * _tierGift[uint8(t)] / g.points;
            left -= portion;
            word = GiftShares.set(word, t, portion, g.hold);
        }
        shares[k] = GiftShares.set(word, g.best, left, g.hold);
        return hold * 1 days;
    }

    /// @dev Brand `b`'s part of the call's quarter: 0 unless its bit is set in `brands`, else
    /// the parts in its lots of the quarter's months so far, plus the operation's own (`ctx.part`,
    /// not yet written) for the calling brand.
    function _partIn(
        EarnContext memory ctx,
        mapping(uint256 => uint256[7]) storage lots,
        uint256 brands,
        uint256 b
    ) private view returns (uint256 part) {
        if (brands & (uint256(1) << ((b - 1) % BRAND_BITS)) == 0) return 0;
        part = LotMath.partSince(lots[b], ctx.quarter * 3, ctx.month);
        if (b == ctx.brand) part += ctx.part;
    }

    /// @dev Counts the operation toward the member's quarter and upgrades the tier the
    /// moment all three thresholds are met. Returns the upgrade gift points (0 if none): the
    /// sum of the gifts of every tier crossed. `cents` is the spend counted (0 for an
    /// engagement); `full` whether the operation issued at least its rule's points (an
    /// engagement counts only then). The first operation of a new quarter applies the
    /// member's due reviews first ({_catchUp}). Hot path: the {MemberWord} is written once.
    function _recordActivity(
        EarnContext memory ctx,
        MemberSlot storage slot,
        MemberWord word,
        address member,
        EarnKind kind,
        uint256 cents,
        uint256 points,
        bool full
    ) private returns (uint256 gift) {
        uint256 spend = word.spendCents();
        uint256 orders = word.orders();
        uint256 engagements = word.engagements();
        uint256 quarter = word.quarter();
        uint256 tierBefore = word.tier();
        if (quarter != ctx.quarter) {
            // The member's previous active quarter closes: remember what it qualified for, and
            // apply the quarter starts that passed since its last review. A quarter whose
            // gift shares are locked keeps its counters for later reversals ({GiftShares}).
            if (tierBefore != 0) _closeGiftQuarter(member, word);
            word = word.setClosedQuarter(quarter, _metTier(ctx, spend, orders, engagements)).setBrands(0);
            (spend, orders, engagements, quarter) = (0, 0, 0, ctx.quarter);
            word = _catchUp(member, word.setCounters(quarter, 0, 0, 0), ctx.quarter);
        }
        if (kind == EarnKind.Purchase || full) {
            // The brand's part of the quarter grows by the value it issued for what counted,
            // written with the operation's lot ({_applyEarn}, {LotMath.credit}).
            // No overflow: points < 2**60 and value < 2**32.
            unchecked {
                ctx.part = points * ctx.value;
            }
            // slither-disable-next-line weak-prng not randomness: the brand's bit in a 63-bit filter
            word = word.setBrands(word.brands() | (uint256(1) << ((ctx.brand - 1) % BRAND_BITS)));
        } else {
            ctx.part = 0;
        }
        if (kind == EarnKind.Purchase) {
            // Saturates instead of wrapping. No overflow: spend <= MAX_SPEND and a purchase's
            // cents <= MAX_AMOUNT; orders is below MAX_COUNT before its increment.
            unchecked {
                spend += cents;
                // An order below the admin's floor counts its spend only ({OrderFloorChanged}).
                if (cents >= ctx.orderFloor && orders < MemberWordLibrary.MAX_COUNT) ++orders;
            }
            if (spend > MemberWordLibrary.MAX_SPEND) spend = MemberWordLibrary.MAX_SPEND;
        } else if (full && engagements < MemberWordLibrary.MAX_COUNT) {
            unchecked {
                ++engagements; // below MAX_COUNT before the increment
            }
        }
        uint256 best = _metTier(ctx, spend, orders, engagements);
        uint256 previous = word.tier();
        if (best >= previous && word.graceUntilMonth() != 0) {
            // Meeting the tier again ends its grace, and says so: the index and the brands had
            // kept the member in grace until the next review (a trial).
            word = word.setGraceUntilMonth(0);
            if (best == previous) emit TierRetained(member, uint8(previous), quarter);
        }
        if (best > previous) {
            word = word.setTier(best);
            for (uint256 t = previous + 1; t <= best; ++t) {
                gift += _tierGift[uint8(t)];
            }
        }
        slot.word = word.setCounters(quarter, spend, orders, engagements);
        // A cancelled gift of a tier the member holds is paid again first (`word` still holds the
        // counters before the operation), then an upgrade's.
        if (best > previous) {
            uint256 regained = previous == 0 ? 0 : _regainGifts(ctx, member, word, best, previous);
            emit TierUpgraded(member, uint8(previous), uint8(best), ctx.brand, gift);
            // No overflow: each is a gift's value in the brand's points (< 2**64, {_payGift}).
            unchecked {
                gift = regained + _payGift(ctx, member, word.brands(), GiftCall(previous, best, gift, 0));
            }
        } else if (best != 0) {
            gift = _regainGifts(ctx, member, word, best, previous);
        }
        uint256 tierAfter = word.tier();
        if (tierAfter != tierBefore) {
            // slither-disable-next-line reentrancy-no-eth trusted immutable badge; setTier uses _mint: no callback
            _badge.setTier(member, uint8(tierAfter));
        }
    }

    /// @dev Pays again the gift of each tier whose shares a return cancelled in the member's
    /// quarter ({GiftShares-regain}) and that the operation meets again: above what `word`'s
    /// counters met before it, up to `best` (met now) and the member's `tier` (higher ones are
    /// the upgrade's). Once per tier and quarter: a brand that cycles a pending purchase and
    /// its return cannot make the others pay and cancel their shares again and again (nor
    /// extend their locks). Each tier's gift is split and locked like an upgrade's ({_payGift})
    /// with its own {TierGiftRestored}; returns the calling brand's shares. A hostile review of
    /// 2026-12-07: a purchase that completed Silver was returned, the gift cancelled while the
    /// tier stood, and honest purchases that met Silver again in the quarter paid nothing.
    function _regainGifts(EarnContext memory ctx, address member, MemberWord word, uint256 best, uint256 tier)
        private
        returns (uint256 own)
    {
        // Only a tier the member holds, met again by this operation in its quarter (it had fallen
        // below it), can be one whose gift a return cancelled.
        uint256 before = _metTier(ctx, word.spendCents(), word.orders(), word.engagements());
        if (before >= tier || best <= before) return 0;
        mapping(uint256 => uint256) storage shares = _giftShares[member];
        uint256 k = GiftShares.key(ctx.quarter, 0);
        (uint256 cancelled, uint256 regained) = GiftShares.regain(shares[k]);
        if (cancelled == 0) return 0;
        uint256 to = best < tier ? best : tier;
        for (uint256 t = before + 1; t <= to; ++t) {
            uint256 bit = uint256(1) << (t - 1);
            if (cancelled & bit == 0) continue;
            (cancelled, regained) = (cancelled & ~bit, regained | bit);
            uint256 points = _tierGift[uint8(t)];
            emit TierGiftRestored(member, uint8(t), ctx.brand, points);
            // No overflow: at most three gift shares, each below 2**64 ({_payGift}).
            if (points != 0) own += _payGift(ctx, member, word.brands(), GiftCall(t - 1, t, points, 0));
        }
        // Read again: a locked share wrote the record ({_lockShare}).
        shares[k] = GiftShares.withRegain(shares[k], cancelled, regained);
    }

    /// @dev When `word`'s quarter locked gift shares, stores its counters and brand filter in the
    /// quarter's record (a reversal of its purchases may still come: {_reverseCounters}).
    function _closeGiftQuarter(address member, MemberWord word) private {
        uint256 k = GiftShares.key(word.quarter(), 0);
        if (_giftShares[member][k] & GiftShares.LOCKED == 0) return;
        _giftShares[member][k] = GiftShares.closed(word.spendCents(), word.orders(), word.engagements(), word.brands());
    }

    function _redeem(address member, uint256 brand, uint256 atBrand, uint256 amount, bytes32 orderRef)
        private
        returns (uint256 value)
    {
        BrandConfig cfg = _brands[brand];
        if (!cfg.exists()) revert LedgerUnknownBrand(brand);
        if (cfg.suspended()) revert LedgerBrandSuspended(brand);
        if (brand != atBrand && !isBrandActive(atBrand)) {
            if (!_brands[atBrand].exists()) revert LedgerUnknownBrand(atBrand);
            revert LedgerBrandSuspended(atBrand);
        }
        if (amount == 0 || amount > MAX_AMOUNT) revert LedgerInvalidAmount(amount);
        uint256 month = Calendar.currentMonth();
        uint256[13] memory taken = _consume(member, brand, amount, month);
        value = _lotsValue(brand, cfg, month, amount, taken);
        _debitBrand(brand, cfg, month, taken);
        _redeemed[brand] += amount;
        if (brand != atBrand) _addDebt(brand, atBrand, value);
        emit Transfer(msg.sender, member, address(0), brand, amount);
        emit PointsRedeemed(member, brand, atBrand, amount, value, orderRef);
    }

    /// @dev The value (micro-USD) of what left a member's lots (`taken`, index 0 = month - 12),
    /// each month's points at the value of their earn month: the latest month's from the config
    /// word, older ones from the brand's value ring (DOMAIN.md "Value of issued points").
    function _lotsValue(uint256 brand, BrandConfig cfg, uint256 month, uint256 amount, uint256[13] memory taken)
        private
        view
        returns (uint256)
    {
        uint256 latestMonth = cfg.latestMonth();
        // All of it from the brand's latest month (a member who spends what it just earned): one
        // value, in the config word. (latestMonth <= month: the ledger's clock never goes back.)
        if (latestMonth + 12 >= month && taken[latestMonth + 12 - month] == amount) {
            return amount * cfg.valueMicroUsd();
        }
        return LotMath.lotsValue(_monthValues[brand], month, latestMonth, cfg.valueMicroUsd(), amount, taken);
    }

    /// @dev The single balance hook for member-to-member moves (gifts, donations, ERC-6909
    /// transfers): lots move with their earn month, so expiry never extends.
    function _update(address from, address to, uint256 id, uint256 amount) internal override whenNotPaused {
        if (amount == 0 || amount > MAX_AMOUNT) revert LedgerInvalidAmount(amount);
        if (to == address(0) || _members[to].word.isSystem()) revert LedgerInvalidMember(to);
        uint256 month = Calendar.currentMonth();
        uint256[13] memory taken = _consume(from, id, amount, month);
        uint256[7] storage toSlots = _lots[to][id];
        for (uint256 i; i < 13; ++i) {
            if (taken[i] != 0) LotMath.credit(toSlots, month - 12 + i, taken[i], 0); // a gift counts toward no part
        }
        emit Transfer(msg.sender, from, to, id, amount);
        if (to == _charityPool) emit PointsDonated(from, to, id, amount);
    }

    /// @dev Takes `amount` from the member's oldest live lots, each month's pending points left in
    /// its lot (a purchase position's month, the gift lock's months: {_held}); returns what was
    /// taken per month (index 0 = the oldest live month). Reverts when the live balance is short.
    function _consume(address member, uint256 brand, uint256 amount, uint256 month)
        private
        returns (uint256[13] memory taken)
    {
        // slither-disable-next-line uninitialized-local memory starts zeroed; _held fills it per month
        uint256[13] memory held;
        PendingWord pending = _pending[member][brand];
        // Pending points cannot be gifted, donated or redeemed.
        bool anyHeld = PendingWord.unwrap(pending) != 0;
        if (anyHeld) _held(member, brand, pending, month, held);
        uint256 remaining = LotMath.consume(_lots[member][brand], month, amount, anyHeld, held, taken);
        if (remaining != 0) {
            // Running short, consume took every live point: what it took is the live balance.
            revert PointsInsufficientBalance(member, brand, amount - remaining, amount);
        }
    }

    /// @dev Adds the member's pending points of `brand` per earn month to `held` (index 0 = month
    /// - 12): its purchase positions and, while it runs, its gift lock.
    function _held(address member, uint256 brand, PendingWord pending, uint256 month, uint256[13] memory held)
        private
        view
    {
        uint256 today = block.timestamp / 1 days;
        pending.heldByMonth(today, month, held);
        // slither-disable-next-line unused-return only whether the lock runs matters here, not its day
        (, uint256 locked) = pending.gift(today);
        if (locked != 0) _giftLockMonths[member][brand].heldInto(month, held);
    }

    function _addDebt(uint256 debtor, uint256 creditor, uint256 value) private {
        int256 delta = value.toInt256();
        if (debtor < creditor) {
            _positions[_pairKey(debtor, creditor)] += delta;
        } else {
            _positions[_pairKey(creditor, debtor)] -= delta;
        }
    }

    function _useSignature(address member, bytes32 structHash, uint256 nonce, uint256 deadline, bytes calldata sig)
        private
    {
        if (block.timestamp > deadline) revert LedgerSignatureExpired(deadline, block.timestamp);
        if (!SignatureChecker.isValidSignatureNowCalldata(member, _hashTypedDataV4(structHash), sig)) {
            revert LedgerInvalidSignature(member);
        }
        _useCheckedNonce(member, nonce);
    }

    function _callerBrand() private view returns (uint256 brand, BrandConfig cfg, bytes4 failure) {
        brand = _brandOfSigner[msg.sender];
        if (brand == 0) return (0, cfg, LedgerNotBrandSigner.selector);
        cfg = _brands[brand];
        if (cfg.suspended()) failure = LedgerBrandSuspended.selector;
    }



    /// @dev Re-raises a failed earn as its custom error with data.
    function _revertEarn(bytes4 failure, uint256 brand, EarnOp calldata op, uint256 requested) private view {
        if (failure == LedgerNotBrandSigner.selector) revert LedgerNotBrandSigner(msg.sender, brand);
        if (failure == LedgerBrandSuspended.selector) revert LedgerBrandSuspended(brand);
        if (failure == LedgerInvalidMember.selector) revert LedgerInvalidMember(op.member);
        if (failure == LedgerInvalidMultiplier.selector) revert LedgerInvalidMultiplier(op.multiplierPct);
        if (failure == LedgerInvalidAmount.selector) revert LedgerInvalidAmount(op.amountCents);
        if (failure == LedgerZeroPoints.selector) revert LedgerZeroPoints(op.opId);
        if (failure == LedgerDailyMintCapExceeded.selector) {
            revert LedgerDailyMintCapExceeded(brand, block.timestamp / 1 days, _mintDays[brand].cap(), requested);
        }
        revert LedgerOperationUsed(brand, op.opId);
    }

    /// @dev Applies the member's due reviews up to `quarter`; false when already reviewed then.
    function _review(address member, uint256 quarter) private returns (bool) {
        MemberSlot storage slot = _members[member];
        MemberWord word = slot.word;
        if (word.reviewedQuarter() >= quarter) return false;
        uint256 before = word.tier();
        if (before == 0) {
            slot.word = word.setReviewedQuarter(quarter);
            emit TierRetained(member, 0, quarter - 1);
            return true;
        }
        word = _catchUp(member, word, quarter);
        slot.word = word;
        uint256 tierAfter = word.tier();
        // slither-disable-next-line reentrancy-no-eth,reentrancy-events trusted immutable badge: no callback
        if (tierAfter != before) _badge.setTier(member, uint8(tierAfter));
        return true;
    }

    /// @dev The quarter starts after the member's last review, up to `quarter`'s, in order (see
    /// {reviewTier}). A quarter's qualification is known from the word: its counters' quarter,
    /// or the closed quarter (the previous active one); a quarter without activity met no tier.
    /// Bounded: a tier > 0 is kept only for a quarter with activity (at most two are known), and
    /// every other step warns or drops, so at most 8 steps run before the tier reaches 0.
    function _catchUp(address member, MemberWord word, uint256 quarter) private returns (MemberWord) {
        uint256 tier = word.tier();
        uint256 grace = word.graceUntilMonth();
        uint256 q = word.reviewedQuarter();
        if (q >= quarter) return word;
        LedgerGlobals globals = _globals;
        while (tier != 0 && q < quarter) {
            ++q;
            uint256 judged = q - 1;
            // slither-disable-next-line uninitialized-local a quarter without activity met no tier (0)
            uint256 met;
            if (word.quarter() == judged) {
                met = globals.bestTier(word.spendCents(), word.orders(), word.engagements());
            } else if (word.closedQuarter() == judged) {
                met = word.closedBestTier();
            }
            if (met >= tier) {
                grace = 0;
                emit TierRetained(member, uint8(tier), judged);
            } else if (grace == 0) {
                grace = 3 * (q + 1);
                emit TierDowngradeWarned(member, uint8(tier), grace);
            } else {
                emit TierDowngraded(member, uint8(tier), uint8(tier - 1));
                --tier;
                grace = 0;
            }
        }
        return word.setTier(tier).setGraceUntilMonth(grace).setReviewedQuarter(quarter);
    }

    /// @dev {LedgerGlobalsLibrary.bestTier} with the call's tier floors, loaded once by {_earnContext}.
    function _metTier(EarnContext memory ctx, uint256 spend, uint256 orders, uint256 engagements)
        private
        pure
        returns (uint256)
    {
        uint256 lanes = LedgerGlobalsLibrary.counterLanes(spend, orders, engagements);
        // Most members meet no tier: one comparison with the lowest floors settles it.
        if (!LedgerGlobalsLibrary.meets(lanes, ctx.entryFloors)) return 0;
        return LedgerGlobalsLibrary.tierOf(lanes, ctx.floors1, ctx.floors2, ctx.floors3);
    }






    function _pairKey(uint256 lo, uint256 hi) private pure returns (uint256) {
        return (lo << 128) | hi;
    }
    // slither-disable-end incorrect-equality
}
